namespace AdaRas.Evaluation.Reports;

/// <summary>
/// Exact McNemar test for paired right/wrong outcomes: under the null hypothesis each discordant pair
/// (wrong-to-right <c>b</c>, right-to-wrong <c>c</c>) is a fair coin flip, so the two-sided p-value is
/// <c>min(1, 2 * P[Binomial(b + c, 1/2) &lt;= min(b, c)])</c>.
/// </summary>
internal static class McNemar
{
    public static double ExactPValue(int wrongToRight, int rightToWrong)
    {
        if (wrongToRight < 0 || rightToWrong < 0) throw new ArgumentOutOfRangeException(nameof(wrongToRight), "counts must be >= 0");
        int n = wrongToRight + rightToWrong;
        if (n == 0) return 1.0;
        int k = Math.Min(wrongToRight, rightToWrong);
        // Sum C(n, i) / 2^n for i <= k in log space, so n in the thousands neither overflows nor underflows early.
        double logHalfPowN = -n * Math.Log(2);
        double logBinomial = 0; // log C(n, 0)
        double tail = 0;
        for (int i = 0; i <= k; i++)
        {
            if (i > 0) logBinomial += Math.Log(n - i + 1) - Math.Log(i);
            tail += Math.Exp(logBinomial + logHalfPowN);
        }
        return Math.Min(1.0, 2 * tail);
    }
}
