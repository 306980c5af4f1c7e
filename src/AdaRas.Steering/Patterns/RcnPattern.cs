using System.Globalization;
using System.Text;
using AdaRas.Model;
using AdaRas.Steering.Rcn;

namespace AdaRas.Steering.Patterns;

/// <summary>The three CSV layouts a pattern file may have.</summary>
internal enum PatternDialect
{
    /// <summary>The paper's short layout: <c>overall_neuron_index,layer,neuron_index_in_layer,weight,abs_weight</c>.</summary>
    Paper,
    /// <summary>The paper's layout plus a direction column named <c>useless</c> (predicts_good / predicts_bad).</summary>
    PaperWithDirection,
    /// <summary>Ours: the paper's direction layout plus <c>good_avg,bad_avg,relative</c> (mu+, mu-, r).</summary>
    AdaRas,
}

/// <summary>
/// One row of a pattern file. <see cref="Delta"/> is the file's <c>weight</c> column (mu+ - mu-);
/// <see cref="MuPlus"/>, <see cref="MuMinus"/> and <see cref="Relative"/> exist only in our dialect.
/// </summary>
internal sealed record PatternNeuron(int Line, long NeuronId, int Layer, int Index, float Delta, float? MuPlus, float? MuMinus, float? Relative)
{
    public float AbsDelta => Math.Abs(Delta);
}

/// <summary>
/// A list of reasoning-critical neurons in rank order, as read from a pattern CSV (the paper's released
/// files or ours) and checked against the model it will steer.
/// </summary>
/// <remarks>
/// Which steering methods a file supports: <c>steering_add</c> needs only delta (the <c>weight</c> column),
/// so every dialect works. <c>linear_blend</c> and <c>softplus_add</c> need mu+ itself, which the paper's
/// files do not carry (their <c>weight</c> is the difference of the means, and a difference cannot give back
/// either mean); they need our <see cref="PatternDialect.AdaRas"/> dialect (see <see cref="RequireClassMeans"/>).
/// </remarks>
internal sealed class RcnPattern
{
    public const string DirectionGood = "predicts_good";
    public const string DirectionBad = "predicts_bad";

    static readonly string[] PaperColumns = ["overall_neuron_index", "layer", "neuron_index_in_layer", "weight", "abs_weight"];
    static readonly string[] DirectionColumns = [.. PaperColumns, "useless"];
    static readonly string[] AdaRasColumns = [.. DirectionColumns, "good_avg", "bad_avg", "relative"];

    public string SourcePath { get; }
    public PatternDialect Dialect { get; }
    public ModelShape Shape { get; }
    /// <summary>Rows in rank order (row 1 = rank 1).</summary>
    public IReadOnlyList<PatternNeuron> Neurons { get; }
    /// <summary>The sidecar JSON, when the file has one (ours always do).</summary>
    public PatternSidecar? Sidecar { get; }
    /// <summary>True when the file carries mu+ and mu- (our dialect).</summary>
    public bool HasClassMeans => Dialect == PatternDialect.AdaRas;
    public int Count => Neurons.Count;

    RcnPattern(string path, PatternDialect dialect, ModelShape shape, IReadOnlyList<PatternNeuron> neurons, PatternSidecar? sidecar)
    {
        SourcePath = path; Dialect = dialect; Shape = shape; Neurons = neurons; Sidecar = sidecar;
    }

    /// <summary>The first <paramref name="k"/> rows (<c>--neurons K</c>).</summary>
    public IReadOnlyList<PatternNeuron> Top(int k)
    {
        if (k < 1 || k > Count)
            throw new AdaRas.Files.InputException(SourcePath, null, $"--neurons must be between 1 and the pattern's {Count} rows (got {k})");
        return Neurons.Take(k).ToArray();
    }

    /// <summary>Throws unless the file carries mu+ (needed by linear_blend and softplus_add).</summary>
    public void RequireClassMeans(string purpose)
    {
        if (!HasClassMeans)
            throw new PatternFormatException(SourcePath, 1,
                $"{purpose} needs mu+ (a 'good_avg' column), but this is the paper's {Dialect} layout, whose 'weight' is only " +
                "mu+ - mu-; identify the pattern again with AdaRas to get good_avg/bad_avg, or use steering_add");
    }

    /// <summary>Loads a pattern for a model of <paramref name="shape"/> (and identity, when both sides know it).</summary>
    public static RcnPattern Load(string path, ModelShape shape)
    {
        if (!File.Exists(path)) throw new PatternFormatException(path, null, "pattern file not found");
        var sidecarPath = PatternSidecar.PathFor(path);
        PatternSidecar? sidecar = File.Exists(sidecarPath) ? PatternSidecar.Load(sidecarPath) : null;
        if (sidecar is not null) CheckSidecar(sidecarPath, sidecar, shape);

        using var reader = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        var header = reader.ReadLine();
        if (header is null) throw new PatternFormatException(path, 1, "empty file (expected a CSV header)");
        var columns = header.TrimEnd('\r').Split(',').Select(c => c.Trim()).ToArray();
        PatternDialect dialect =
            columns.SequenceEqual(PaperColumns) ? PatternDialect.Paper :
            columns.SequenceEqual(DirectionColumns) ? PatternDialect.PaperWithDirection :
            columns.SequenceEqual(AdaRasColumns) ? PatternDialect.AdaRas :
            throw new PatternFormatException(path, 1,
                $"unrecognised header '{header.TrimEnd('\r')}'; expected '{string.Join(',', PaperColumns)}', " +
                $"optionally followed by ',useless' (the paper's files) or ',useless,good_avg,bad_avg,relative' (ours)");

        var neurons = new List<PatternNeuron>();
        var seen = new Dictionary<long, int>();
        int lineNumber = 1;
        for (string? line = reader.ReadLine(); line is not null; line = reader.ReadLine())
        {
            lineNumber++;
            line = line.TrimEnd('\r');
            if (line.Trim().Length == 0) continue;
            var row = ParseRow(path, lineNumber, line, columns.Length, dialect, shape);
            if (seen.TryGetValue(row.NeuronId, out var first))
                throw new PatternFormatException(path, lineNumber, $"neuron {row.NeuronId} is listed twice (first on line {first})");
            seen[row.NeuronId] = lineNumber;
            neurons.Add(row);
        }
        if (neurons.Count == 0) throw new PatternFormatException(path, 2, "the pattern has a header but no neurons");
        if (sidecar is not null && sidecar.Top != neurons.Count)
            throw new PatternFormatException(sidecarPath, null, $"says top = {sidecar.Top}, but {path} has {neurons.Count} rows");
        return new RcnPattern(path, dialect, shape, neurons, sidecar);
    }

    static void CheckSidecar(string sidecarPath, PatternSidecar s, ModelShape shape)
    {
        if (s.Layers != shape.Layers || s.IntermediateSize != shape.IntermediateSize)
            throw new PatternFormatException(sidecarPath, null,
                $"pattern was identified on {s.Layers} layers x {s.IntermediateSize} neurons, but the model has {shape.Layers} x {shape.IntermediateSize}");
        if (s.ModelId is not null && shape.ModelId is not null && s.ModelId != shape.ModelId)
            throw new PatternFormatException(sidecarPath, null,
                $"pattern was identified on model '{s.ModelId}', not on this model ('{shape.ModelId}')");
    }

    static PatternNeuron ParseRow(string path, int line, string text, int columnCount, PatternDialect dialect, ModelShape shape)
    {
        if (text.Contains('"')) throw new PatternFormatException(path, line, "quoted CSV fields are not supported in pattern files");
        var f = text.Split(',');
        if (f.Length != columnCount)
            throw new PatternFormatException(path, line, $"{f.Length} fields, the header has {columnCount}");

        long overall = ParseLong(path, line, "overall_neuron_index", f[0]);
        long layer = ParseLong(path, line, "layer", f[1]);
        long index = ParseLong(path, line, "neuron_index_in_layer", f[2]);
        float weight = ParseFloat(path, line, "weight", f[3]);
        float absWeight = ParseFloat(path, line, "abs_weight", f[4]);

        if (layer < 0 || layer >= shape.Layers)
            throw new PatternFormatException(path, line, $"layer {layer} is out of range for a model with {shape.Layers} layers");
        if (index < 0 || index >= shape.IntermediateSize)
            throw new PatternFormatException(path, line, $"neuron_index_in_layer {index} is out of range for intermediate size {shape.IntermediateSize}");
        long expected = layer * shape.IntermediateSize + index;
        if (overall != expected)
            throw new PatternFormatException(path, line,
                $"overall_neuron_index {overall} != layer * {shape.IntermediateSize} + index = {expected} (pattern made for another model size?)");
        if (!Close(absWeight, Math.Abs(weight)))
            throw new PatternFormatException(path, line, $"abs_weight {absWeight} is not |weight| = {Math.Abs(weight)}");

        if (dialect != PatternDialect.Paper)
        {
            var direction = f[5].Trim();
            if (direction != DirectionGood && direction != DirectionBad)
                throw new PatternFormatException(path, line, $"direction (column 'useless') is '{direction}', expected '{DirectionGood}' or '{DirectionBad}'");
            if ((weight > 0 && direction != DirectionGood) || (weight < 0 && direction != DirectionBad))
                throw new PatternFormatException(path, line, $"direction '{direction}' contradicts the sign of weight {weight}");
        }

        float? muPlus = null, muMinus = null, relative = null;
        if (dialect == PatternDialect.AdaRas)
        {
            muPlus = ParseFloat(path, line, "good_avg", f[6]);
            muMinus = ParseFloat(path, line, "bad_avg", f[7]);
            relative = ParseFloat(path, line, "relative", f[8]);
            if (!Close(weight, muPlus.Value - muMinus.Value))
                throw new PatternFormatException(path, line, $"weight {weight} is not good_avg - bad_avg = {muPlus.Value - muMinus.Value}");
            if (relative < 0 || relative > 1)
                throw new PatternFormatException(path, line, $"relative {relative} is outside [0, 1]");
        }
        return new PatternNeuron(line, overall, (int)layer, (int)index, weight, muPlus, muMinus, relative);
    }

    /// <summary>Equal up to float rounding of values printed at full precision.</summary>
    static bool Close(float a, float b) => Math.Abs(a - b) <= 1e-6f * Math.Max(1f, Math.Max(Math.Abs(a), Math.Abs(b)));

    static long ParseLong(string path, int line, string column, string text) =>
        long.TryParse(text.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v)
            ? v
            : throw new PatternFormatException(path, line, $"{column} '{text}' is not an integer");

    static float ParseFloat(string path, int line, string column, string text)
    {
        if (!float.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var v))
            throw new PatternFormatException(path, line, $"{column} '{text}' is not a number");
        if (!float.IsFinite(v)) throw new PatternFormatException(path, line, $"{column} is {text}; values must be finite");
        return v;
    }

    /// <summary>
    /// Writes a ranking as a pattern in our dialect (rows in rank order) plus its sidecar JSON. Refuses to
    /// replace existing files unless <paramref name="overwrite"/> is set.
    /// </summary>
    public static void Write(string path, IReadOnlyList<RankedNeuron> ranked, PatternSidecar sidecar, bool overwrite = false)
    {
        var sidecarPath = PatternSidecar.PathFor(path);
        if (Path.GetFullPath(sidecarPath) == Path.GetFullPath(path))
            throw new AdaRas.Files.UsageException($"{path}: a pattern file must not have the .json extension (its sidecar is {sidecarPath})");
        if (!overwrite)
            foreach (var p in new[] { path, sidecarPath })
                if (File.Exists(p)) throw new IOException($"{p}: already exists (pass overwrite to replace it)");
        if (ranked.Count == 0) throw new ArgumentException("a pattern needs at least one neuron", nameof(ranked));
        if (sidecar.Top != ranked.Count)
            throw new ArgumentException($"sidecar says top = {sidecar.Top}, but {ranked.Count} neurons are being written", nameof(sidecar));

        var inv = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        text.Append(string.Join(',', AdaRasColumns)).Append('\n');
        foreach (var n in ranked)
        {
            if (n.Layer >= sidecar.Layers || n.Index >= sidecar.IntermediateSize)
                throw new ArgumentException($"neuron {n.NeuronId} (layer {n.Layer}, index {n.Index}) does not fit {sidecar.Layers} x {sidecar.IntermediateSize}");
            text.Append(inv, $"{n.NeuronId},{n.Layer},{n.Index},{n.Delta},{n.AbsDelta},{(n.Delta > 0 ? DirectionGood : DirectionBad)},{n.MuPlus},{n.MuMinus},{n.Relative}\n");
        }
        AtomicFile.WriteAllText(path, text.ToString());
        AtomicFile.WriteAllText(sidecarPath, sidecar.ToJson());
    }
}
