using AdaRas.Model.Synthetic;

namespace AdaRas.Tests.Performance;

/// <summary>
/// The random models the Performance tests measure on: big enough that a token costs what a real model's per-node
/// and per-step overheads make it cost, small enough for CI. One checkpoint per shape serves every test that uses it.
/// </summary>
static class PerformanceShapes
{
    /// <summary>8 layers, hidden 512: a decode step takes a few ms, so per-node overheads show as they would at scale.</summary>
    public static readonly CheckpointShape Small = CheckpointShapes.Tiny with
    {
        Name = "perf-small", Hidden = 512, Intermediate = 1536, Layers = 8, Heads = 8, KvHeads = 4, HeadDim = 64, MaxPositions = 512,
    };

    /// <summary>4 layers, hidden 1024 (204 MB of fp32 weights per token): a token takes milliseconds, as a real model's does.</summary>
    public static readonly CheckpointShape Wide = CheckpointShapes.Tiny with
    {
        Name = "perf-wide", Hidden = 1024, Intermediate = 3072, Layers = 4, Heads = 16, KvHeads = 8, HeadDim = 64, MaxPositions = 512,
    };
}
