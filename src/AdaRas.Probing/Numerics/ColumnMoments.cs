namespace AdaRas.Probing.Numerics;

/// <summary>
/// Per-column mean and population variance of a stream of rows, accumulated in double around the first row
/// (a shift that keeps the sum of squares from cancelling when values sit far from zero).
/// </summary>
sealed class ColumnMoments(int columns)
{
    readonly double[] _sum = new double[columns], _sumOfSquares = new double[columns];
    float[]? _shift;
    long _count;

    public void Add(ReadOnlySpan<float> row)
    {
        _shift ??= row.ToArray();
        for (int j = 0; j < _sum.Length; j++)
        {
            double d = (double)row[j] - _shift[j];
            _sum[j] += d;
            _sumOfSquares[j] += d * d;
        }
        _count++;
    }

    public double Mean(int column) => _shift![column] + _sum[column] / _count;

    public double Variance(int column)
    {
        double m = _sum[column] / _count;
        return Math.Max(_sumOfSquares[column] / _count - m * m, 0);
    }
}
