using AdaRas.Workflows;

namespace AdaRas.Tests.Workflows;

public class MediansTests
{
    [Test]
    public void Median_OfOddAndEvenCounts()
    {
        Assert.That(Medians.Of([5, 1, 3]), Is.EqualTo(3));
        Assert.That(Medians.Of([4, 1, 3, 2]), Is.EqualTo(2.5));
        Assert.Throws<ArgumentException>(() => Medians.Of([]));
    }

    [Test]
    public void PairedRatios_DivideWithinEachRound_NotTheMedians()
    {
        // Round 2 is slow for both rows: paired, it cancels (ratios 1.1, 1.1, 0.5 -> 1.1); the ratio of the medians
        // (11 / 20 = 0.55) would be dragged by it.
        double[] a = [11, 55, 10], b = [10, 50, 20];
        Assert.That(Medians.OfPairedRatios(a, b), Is.EqualTo(1.1).Within(1e-12));
        Assert.That(Medians.Of(a) / Medians.Of(b), Is.EqualTo(0.55).Within(1e-12), "the statistic the pairing replaces");
    }
}
