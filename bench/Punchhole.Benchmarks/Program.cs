using BenchmarkDotNet.Running;
using Punchhole.Benchmarks.Benchmarks;

// Every class here is a set of benchmarks with a naive baseline, so each result comes with a ratio.
// Pick with --filter, e.g.  dotnet run -c Release --project bench/Punchhole.Benchmarks -- --filter '*'
// (The assembly is named through a benchmark type: tstun's own Program is visible here too.)
BenchmarkSwitcher.FromAssembly(typeof(KeyParseBenchmarks).Assembly).Run(args);
