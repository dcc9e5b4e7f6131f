// The workflow bundle's entry point: every workflow type the worker registers.
export { appWorkflow } from './app-workflow.js';
