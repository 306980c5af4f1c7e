using System.Diagnostics;
using AdaRas.Steering.Kernels;
using AdaRas.Steering.Rcn;

namespace AdaRas.Evaluation.Speed;

/// <summary>Timings of one <see cref="RankingBench.Run"/>; medians over the timed repetitions.</summary>
/// <param name="RadixSortFirstCall">The first device ranking, which includes ILGPU compiling the contrast, sort and gather kernels.</param>
/// <param name="RadixSort">Device ranking: contrast kernel (mu+, mu-, delta, r, keys), ILGPU.Algorithms radix sort of all
/// 64-bit keys with their ids, gather and copy of the top K (<see cref="RankingAlgorithm.DeviceRadixSort"/>).</param>
/// <param name="HostSelection">Contrast kernel, keys copied to the host, bounded-heap top K, gather
/// (<see cref="RankingAlgorithm.HostSelection"/>).</param>
/// <param name="Linq">Host ranking of the same r and delta arrays: OrderByDescending(r).ThenByDescending(|delta|).Take(K).</param>
/// <param name="LinqWithContrast">The whole step on the host, as the kernel paths do it: mu+, mu-, delta and r from the
/// class sums in plain loops, then the same LINQ ranking.</param>
/// <param name="SameSelection">Whether all four picked the same K neurons in the same order.</param>
internal sealed record RankingTimings(
    string Device, int Layers, int IntermediateSize, int Top, int Repetitions,
    TimeSpan RadixSortFirstCall, TimeSpan RadixSort, TimeSpan HostSelection, TimeSpan Linq, bool SameSelection,
    TimeSpan LinqWithContrast = default)
{
    public override string ToString() =>
        $"rank {Layers}x{IntermediateSize} neurons, top {Top}, {Device}: " +
        $"device radix sort {RadixSort.TotalMilliseconds:F2} ms (first call {RadixSortFirstCall.TotalMilliseconds:F0} ms), " +
        $"host selection {HostSelection.TotalMilliseconds:F2} ms, LINQ {Linq.TotalMilliseconds:F2} ms " +
        $"(with the contrast on the host {LinqWithContrast.TotalMilliseconds:F2} ms) " +
        $"(median of {Repetitions}); same selection: {SameSelection}";
}

/// <summary>
/// Times ranking every neuron of a model shape (default Qwen3-1.7B, 28 x 6144) with the ILGPU kernels (device radix
/// sort, and host selection of the kernel-computed keys) versus a straightforward LINQ sort, on random class
/// statistics (two trajectories per class).
/// </summary>
internal static class RankingBench
{
    public static RankingTimings Run(KernelDevice device, int layers = 28, int intermediateSize = 6144, int top = 200,
        int repetitions = 5, int seed = 1)
    {
        if (repetitions < 1) throw new ArgumentOutOfRangeException(nameof(repetitions), repetitions, "must be at least 1");
        using var stats = new NeuronStatistics(device, layers, intermediateSize);
        var rng = new Random(seed);
        var values = new float[stats.NeuronCount];
        var correctSum = new double[stats.NeuronCount];
        var incorrectSum = new double[stats.NeuronCount];
        for (int t = 0; t < 4; t++)
        {
            for (int i = 0; i < values.Length; i++) values[i] = (float)(rng.NextDouble() * 2 - 1);
            stats.AddTrajectoryMean($"bench-{t}", correct: t % 2 == 0, values, tokenCount: 100);
            var sum = t % 2 == 0 ? correctSum : incorrectSum;
            for (int i = 0; i < values.Length; i++) sum[i] += values[i];
        }
        var contrast = stats.ComputeContrast();
        float[] r = contrast.Relative, delta = contrast.Delta;

        var clock = Stopwatch.StartNew();
        var radixTop = stats.Rank(top, RankingAlgorithm.DeviceRadixSort);
        var first = clock.Elapsed;
        var hostTop = stats.Rank(top, RankingAlgorithm.HostSelection); // warm-up

        var radixTimes = new List<TimeSpan>();
        var hostTimes = new List<TimeSpan>();
        var linqTimes = new List<TimeSpan>();
        var linqContrastTimes = new List<TimeSpan>();
        int[] linqTop = [], linqContrastTop = [];
        for (int rep = 0; rep < repetitions; rep++)
        {
            clock.Restart();
            radixTop = stats.Rank(top, RankingAlgorithm.DeviceRadixSort);
            radixTimes.Add(clock.Elapsed);

            clock.Restart();
            hostTop = stats.Rank(top, RankingAlgorithm.HostSelection);
            hostTimes.Add(clock.Elapsed);

            clock.Restart();
            linqTop = Enumerable.Range(0, r.Length)
                .OrderByDescending(i => r[i])
                .ThenByDescending(i => Math.Abs(delta[i]))
                .Take(top)
                .ToArray();
            linqTimes.Add(clock.Elapsed);

            clock.Restart();
            linqContrastTop = LinqWithContrast(correctSum, incorrectSum, 2, 2, top);
            linqContrastTimes.Add(clock.Elapsed);
        }
        bool same = radixTop.Select(n => (int)n.NeuronId).SequenceEqual(linqTop)
            && hostTop.Select(n => (int)n.NeuronId).SequenceEqual(linqTop)
            && linqContrastTop.SequenceEqual(linqTop);
        return new RankingTimings(device.ToString(), layers, intermediateSize, top, repetitions, first,
            Median(radixTimes), Median(hostTimes), Median(linqTimes), same, Median(linqContrastTimes));
    }

    /// <summary>The straightforward host version of the kernels' contrast and ranking, in the kernels' float arithmetic.</summary>
    static int[] LinqWithContrast(double[] correctSum, double[] incorrectSum, int correct, int incorrect, int top)
    {
        int n = correctSum.Length;
        var r = new float[n];
        var absDelta = new float[n];
        for (int i = 0; i < n; i++)
        {
            float plus = (float)(correctSum[i] / correct), minus = (float)(incorrectSum[i] / incorrect);
            absDelta[i] = Math.Abs(plus - minus);
            r[i] = absDelta[i] / (Math.Abs(plus) + Math.Abs(minus) + RankKey.Epsilon);
        }
        return Enumerable.Range(0, n).OrderByDescending(i => r[i]).ThenByDescending(i => absDelta[i]).Take(top).ToArray();
    }

    static TimeSpan Median(List<TimeSpan> times)
    {
        var sorted = times.Order().ToArray();
        return sorted[sorted.Length / 2];
    }
}
