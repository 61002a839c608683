// What starting an embedded database gives back: apart from index.ts (which picks the engine) so that each
// engine's module can name it without importing the module that imports it.
export interface EmbeddedDatabase {
  uri: string;
  kind: 'mongod' | 'ferretdb';
  /** One line for people: which engine, where its data lives. */
  description: string;
  stop(): Promise<void>;
}
