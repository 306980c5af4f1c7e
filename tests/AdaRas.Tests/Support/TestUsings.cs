// The namespaces most test files open (model files, synthetic checkpoints, the CLI runner, test support), once for
// the project instead of in every fixture's header.
global using AdaRas.Model;
global using AdaRas.Model.Synthetic;
global using AdaRas.Tests.Cli;
global using AdaRas.Tests.Support;
