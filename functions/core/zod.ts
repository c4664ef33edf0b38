/**
 * Every schema of the relay uses `zod/mini`, the tree-shakable build: the classic build bundles
 * every locale and JSON-Schema support (440 KB of a 470 KB Lambda bundle). Schema modules import
 * `zod/mini` themselves (a re-exported namespace would defeat tree-shaking) and import this
 * module for its one effect: English error messages.
 */
import { config } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

config(en());
