using System.Diagnostics;
using System.Numerics;
using System.Runtime.InteropServices;

namespace AdaRas.Evaluation.Speed;

/// <summary>
/// The decode speed limit of a memory-bound model: every weight is read once per generated token, so
/// tokens/s cannot exceed (read bandwidth) / (weight bytes per token).
/// </summary>
internal static class MemoryBandwidth
{
    /// <summary>
    /// Streaming read bandwidth in bytes/s: all cores sum a buffer far larger than the caches with independent
    /// vector accumulators (so arithmetic is not the bottleneck); best of several passes.
    /// </summary>
    public static double MeasureReadBytesPerSecond(long bufferBytes = 1L << 30, int passes = 5)
    {
        var buffer = new float[bufferBytes / sizeof(float)];
        for (long i = 0; i < buffer.LongLength; i += 1024) buffer[i] = 1; // touch every page
        int threads = Environment.ProcessorCount;
        double best = 0;
        for (int pass = 0; pass < passes; pass++)
        {
            var clock = Stopwatch.StartNew();
            var sums = new float[threads];
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
            {
                long per = buffer.LongLength / threads / Vector<float>.Count / 4 * Vector<float>.Count * 4;
                var span = MemoryMarshal.Cast<float, Vector<float>>(buffer.AsSpan((int)(t * per), (int)per));
                Vector<float> a = default, b = default, c = default, d = default;
                for (int i = 0; i + 4 <= span.Length; i += 4) { a += span[i]; b += span[i + 1]; c += span[i + 2]; d += span[i + 3]; }
                sums[t] = Vector.Sum(a + b + c + d);
            });
            double seconds = clock.Elapsed.TotalSeconds;
            long read = buffer.LongLength / threads / Vector<float>.Count / 4 * Vector<float>.Count * 4 * threads * sizeof(float);
            best = Math.Max(best, read / seconds);
            GC.KeepAlive(sums);
        }
        return best;
    }

    /// <summary>
    /// Copy bandwidth as STREAM reports it: bytes read plus bytes written per second while all cores copy one
    /// buffer far larger than the caches into another; best of several passes.
    /// </summary>
    public static double MeasureCopyBytesPerSecond(long bufferBytes = 1L << 30, int passes = 5)
    {
        var source = new float[bufferBytes / sizeof(float)];
        var target = new float[source.LongLength];
        for (long i = 0; i < source.LongLength; i += 1024) { source[i] = 1; target[i] = 1; } // touch every page
        int threads = Environment.ProcessorCount;
        int per = (int)(source.LongLength / threads);
        double best = 0;
        for (int pass = 0; pass < passes; pass++)
        {
            var clock = Stopwatch.StartNew();
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads },
                t => source.AsSpan(t * per, per).CopyTo(target.AsSpan(t * per, per)));
            best = Math.Max(best, 2.0 * per * threads * sizeof(float) / clock.Elapsed.TotalSeconds);
        }
        return best;
    }
}
