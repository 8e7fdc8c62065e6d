/**
 * Entry of the compiled server: `npm run build` emits this file as dist/main.js beside dist/src
 * and dist/migrations (the migrations live outside src/, so the build's root is the repository),
 * and `node dist/main.js` runs the same start-up as `npm start` does through tsx.
 */
import './src/main.js';
