// Runs the TypeScript sources directly: swc compiles each file on load (with decorator metadata,
// which NestJS needs) and resolves the @featx/* path aliases from tsconfig.json.
process.env.SWC_NODE_PROJECT = process.env.SWC_NODE_PROJECT || require('path').join(__dirname, '..', 'tsconfig.json');
require('@swc-node/register');
