import { fileURLToPath } from 'node:url';

/** The repository root: templates, migrations and seeds are found relative to it, whatever the cwd. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export const paths = {
  migrations: fileURLToPath(new URL('../../migrations/', import.meta.url)),
  seeds: fileURLToPath(new URL('../../seeds/', import.meta.url)),
  templates: fileURLToPath(new URL('../../templates/', import.meta.url)),
};
