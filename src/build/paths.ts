// Where the weft package's own files are (wit/, sdk/, templates/), whether it runs from this
// repository (src/ through tsx) or from an installed package (dist/): both sit two folders down.

import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
