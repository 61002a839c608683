// Sending domains and their DKIM keys, as the store hands them over.

/**
 * pending: generated, its DNS record not yet seen; active: seen in DNS, signs; retiring: the key a rotation
 * replaces, still signing (and to be left published) until the new one is seen in DNS.
 */
export type DkimKeyState = 'pending' | 'active' | 'retiring';

export interface DkimKey {
  selector: string;
  state: DkimKeyState;
  /** Base64 DER SubjectPublicKeyInfo: the p= of the DNS record. */
  publicKey: string;
  /** PKCS#8 PEM sealed with SMTPDESK_SECRET_KEY (secret-box.ts); never stored or logged in the clear. */
  sealedPrivateKey: string;
  createdAt: Date;
  activatedAt?: Date;
}

export interface SendingDomain {
  /** Lower-cased, ASCII (punycode) domain name. */
  domain: string;
  workspaceId: string;
  keys: DkimKey[];
  createdAt: Date;
  createdBy: string;
  lastVerifiedAt?: Date;
}

export interface SendingDomainRepository {
  /** Throws DomainError DOMAIN.EXISTS when the domain is registered already (in any workspace). */
  insert(domain: SendingDomain): Promise<void>;
  findByName(domain: string): Promise<SendingDomain | null>;
  /** The ones of `domains` that are registered (one query: the worker's cache fills with it). */
  findByNames(domains: readonly string[]): Promise<SendingDomain[]>;
  listByWorkspace(workspaceId: string): Promise<SendingDomain[]>;
  setKeys(domain: string, keys: DkimKey[], lastVerifiedAt?: Date): Promise<SendingDomain | null>;
  delete(domain: string): Promise<boolean>;
  /** Whether any domain is registered: the worker and relay refuse to start without the secret key then. */
  any(): Promise<boolean>;
}

/** The TXT lookup (node:dns `resolveTxt` shape: each record as its character-strings). Injected by adapters and tests. */
export type TxtResolver = (name: string) => Promise<string[][]>;
