using AdaRas.Cli;

namespace AdaRas.Tests.Cli;

/// <summary>The CLI's progress throttle: the last value always shows, and reports from several threads never overlap.</summary>
[TestFixture]
public sealed class ThrottledProgressTests
{
    [Test]
    public void Flush_ReportsTheLastValueTheThrottleHeldBack()
    {
        var seen = new List<int>();
        var progress = new ThrottledProgress<int>(seen.Add);
        for (int i = 1; i <= 1000; i++) progress.Report(i);
        Assert.That(seen, Has.Count.LessThan(1000).And.Contains(1), "throttled, and the first value shows");
        progress.Flush();
        Assert.That(seen[^1], Is.EqualTo(1000), "the final state shows after a flush");
        int count = seen.Count;
        progress.Dispose();
        Assert.That(seen, Has.Count.EqualTo(count), "nothing held back twice");
    }

    [Test]
    public void ReportsFromManyThreads_ReachTheCallbackOneAtATime()
    {
        int inside = 0, overlaps = 0, calls = 0;
        var progress = new ThrottledProgress<int>(_ =>
        {
            if (Interlocked.Increment(ref inside) > 1) Interlocked.Increment(ref overlaps);
            Interlocked.Increment(ref calls);
            Thread.SpinWait(2000);
            Interlocked.Decrement(ref inside);
        });
        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, t =>
        {
            var end = DateTime.UtcNow.AddMilliseconds(600);
            while (DateTime.UtcNow < end) { progress.Report(t); progress.Flush(); }
        });
        Assert.That(calls, Is.GreaterThan(1));
        Assert.That(overlaps, Is.Zero);
    }
}
