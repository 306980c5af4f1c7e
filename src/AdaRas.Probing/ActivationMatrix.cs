namespace AdaRas.Probing;

/// <summary>
/// A row-major float matrix of activations: rows are questions (for the probe and the F-score) or tokens of one
/// question (for the gate); columns are features (neurons). It wraps, never copies, the caller's array.
/// </summary>
internal sealed class ActivationMatrix
{
    public float[] Values { get; }
    public int Rows { get; }
    public int Columns { get; }

    public ActivationMatrix(float[] values, int rows, int columns)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (rows < 0 || columns <= 0) throw new ArgumentException($"matrix shape {rows} x {columns} is invalid");
        if ((long)rows * columns != values.LongLength)
            throw new ArgumentException($"matrix of {rows} x {columns} needs {(long)rows * columns} values, got {values.LongLength}");
        Values = values;
        Rows = rows;
        Columns = columns;
    }

    public ReadOnlySpan<float> Row(int row) => Values.AsSpan(row * Columns, Columns);

    /// <summary>Throws, naming <paramref name="what"/>, the row and the column, at the first NaN or infinity.</summary>
    public void EnsureFinite(string what)
    {
        int bad = FirstNonFinite(Values);
        if (bad >= 0)
            throw new ArgumentException(
                $"{what}: row {bad / Columns}, feature column {bad % Columns} is {Values[bad]} (activations must be finite)");
    }

    internal static int FirstNonFinite(ReadOnlySpan<float> values)
    {
        for (int i = 0; i < values.Length; i++)
            if (!float.IsFinite(values[i])) return i;
        return -1;
    }
}
