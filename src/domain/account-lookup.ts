import type { DomainContext } from './context.ts';
import { DomainError } from './errors.ts';
import type { Account } from './model.ts';
import { closestName } from './account-name.ts';

/** Finds an account by name ignoring case; a miss says "did you mean" when a name is close. */
export async function findAccountOrThrow(ctx: DomainContext, workspaceId: string, name: string): Promise<Account> {
  const account = await ctx.accounts.findByName(workspaceId, name);
  if (account) return account;
  const names = (await ctx.accounts.listByWorkspace(workspaceId)).map((a) => a.name);
  const suggestion = closestName(name, names);
  throw new DomainError(
    'ACCOUNT.NOT_FOUND',
    suggestion ? `No account named "${name}". Did you mean "${suggestion}"?` : `No account named "${name}".`,
    suggestion ? { name, suggestion } : { name },
  );
}

/** Finds an account by its (globally unique) username, across workspaces. The password hash is not returned. */
export async function findAccountByUsernameOrThrow(ctx: DomainContext, username: string): Promise<Account> {
  const found = await ctx.accounts.findByUsernameWithSecret(username.trim().toLowerCase());
  if (!found) throw new DomainError('ACCOUNT.NOT_FOUND', `No account with username "${username}".`, { username });
  const { passwordHash: _hash, ...account } = found;
  return account;
}
