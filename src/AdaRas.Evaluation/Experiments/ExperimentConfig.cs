using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using AdaRas.Engine;
using AdaRas.Evaluation.Benchmarks;
using AdaRas.Steering;
using AdaRas.Steering.Plans;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace AdaRas.Evaluation.Experiments;

/// <summary>Decoding settings (the paper: greedy, thinking on).</summary>
internal sealed record GenerationSettings
{
    public int MaxNewTokens { get; init; } = 32768;
    public bool DoSample { get; init; }
    public double Temperature { get; init; } = 0.6;
    public double TopP { get; init; } = 0.95;
    public int TopK { get; init; } = 20;
    public int Seed { get; init; } = 42;
}

/// <summary>
/// Steering of the RCN pattern's top <see cref="NumNeurons"/> neurons with strength alpha: the config's spelling of
/// <see cref="SteeringOptions"/> (whose defaults it takes), plus whether it is on.
/// </summary>
internal sealed record InterventionSettings
{
    public bool Enabled { get; init; }
    public SteeringMethod Method { get; init; } = SteeringOptions.DefaultMethod;
    public double Strength { get; init; } = SteeringOptions.DefaultAlpha;
    public int NumNeurons { get; init; } = SteeringOptions.DefaultNeurons;
    public string? PatternPath { get; init; }
    public SteeringPositions Positions { get; init; } = SteeringOptions.DefaultPositions;

    /// <summary>These settings as steering options for the pattern file found at <paramref name="patternFile"/>.</summary>
    public SteeringOptions ToSteeringOptions(string patternFile) => new(patternFile)
    {
        Neurons = NumNeurons,
        Alpha = (float)Strength,
        Method = Method,
        Positions = Positions,
    };
}

/// <summary>The adaptive gate: steer only questions it predicts will go wrong; optionally re-decided per token by an L1 probe.</summary>
internal sealed record GateSettings
{
    public required string File { get; init; }
    /// <summary>Overrides the threshold stored in the gate file (Youden's J on validation).</summary>
    public double? Threshold { get; init; }
    /// <summary>An L1 probe file that switches steering on or off every <see cref="ProbeEvery"/> generated tokens.</summary>
    /// <remarks>Left out of the canonical JSON when absent, so configs written before it keep their hash.</remarks>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? TokenProbe { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? ProbeEvery { get; init; }
}

/// <summary>What counts as a model's answer when its thought never closed (no <c>&lt;/think&gt;</c>: it hit max_new_tokens).</summary>
internal enum UnfinishedThoughts
{
    /// <summary>No final content, so no answer: a provisional box inside the thought is not scored (the project's rule).</summary>
    NoAnswer,
    /// <summary>The paper's <c>text.split("&lt;/think&gt;")[-1]</c>: the last box anywhere in the whole text is scored.</summary>
    LastBox,
}

/// <summary>How answers are read; the paper configs set <c>unfinished_thoughts: last_box</c> (the paper's rule).</summary>
internal sealed record ScoringSettings
{
    public UnfinishedThoughts UnfinishedThoughts { get; init; } = UnfinishedThoughts.NoAnswer;
}

/// <summary>Bad experiment config: the message starts with <c>file:line:</c>.</summary>
internal sealed class ExperimentConfigException(string file, int line, string problem)
    : AdaRas.Files.InputException(file, line > 0 ? line : null, problem)
{
    public string File { get; } = file;
    public new int Line { get; } = line;
}

/// <summary>
/// One experiment, in the paper's config fields (YAML; JSON is accepted too, being YAML):
/// <code>
/// name: aime24-adaptive          # results go to results/&lt;name&gt;/
/// model: models/qwen3-1.7b
/// sample_path: aime24            # a shipped benchmark name or a JSONL path
/// task: math                     # math | code
/// generation: {max_new_tokens: 32768, do_sample: false, temperature: 0.6, top_p: 0.95, top_k: 20, seed: 42}
/// intervention: {enabled: true, method: steering_add, strength: 0.3, num_neurons: 50,
///                pattern_path: patterns/aime.csv, positions: last}   # method: steering_add|linear_blend|softplus_add
/// gate: {file: gates/aime.gate, threshold: 0.42}                     # optional; threshold optional
///       # token_probe: probe.bin, probe_every: 16                   # optional: re-decide every k tokens (beyond the paper)
/// scoring: {unfinished_thoughts: last_box}                           # optional; no_answer (default) | last_box (the paper's)
/// </code>
/// Unknown keys and wrong types are errors naming the file and line. Relative paths are looked up in the
/// current directory, then beside the config file (<see cref="TryResolvePath"/>); pattern_path may also name one
/// of the paper's released patterns (e.g. <c>AIME_Qwen3-1.7B.csv</c>).
/// </summary>
internal sealed record ExperimentConfig
{
    public required string Name { get; init; }
    public required string Model { get; init; }
    public required string SamplePath { get; init; }
    public required BenchmarkTask Task { get; init; }
    public GenerationSettings Generation { get; init; } = new();
    public InterventionSettings Intervention { get; init; } = new();
    public GateSettings? Gate { get; init; }
    /// <summary>Null when the config has no <c>scoring</c> section (the defaults); left out of the hash then, so older results folders still resume.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ScoringSettings? Scoring { get; init; }

    /// <summary>The rule in force for unfinished thoughts (the default when the config does not say).</summary>
    [JsonIgnore]
    public UnfinishedThoughts UnfinishedThoughts => Scoring?.UnfinishedThoughts ?? UnfinishedThoughts.NoAnswer;

    static readonly Regex SafeName = new(@"^[A-Za-z0-9][A-Za-z0-9._-]*$", RegexOptions.CultureInvariant);

    public static ExperimentConfig Load(string path)
    {
        var full = Path.GetFullPath(path);
        AdaRas.Files.InputFiles.RequireRegularFile(full, "experiment config");
        return Parse(System.IO.File.ReadAllText(full), full) with { SourceFile = full };
    }

    /// <summary>The file the config was loaded from (null when parsed from text); not part of the hash.</summary>
    [JsonIgnore]
    public string? SourceFile { get; init; }

    /// <summary>
    /// Where a relative path of this config (model, sample_path, pattern_path, gate.file) points: the current
    /// directory first, then the config file's folder, so configs shipped beside their data work from anywhere.
    /// Null when neither holds a file or folder of that name.
    /// </summary>
    public string? TryResolvePath(string path)
    {
        if (Path.IsPathRooted(path)) return Exists(path) ? path : null;
        var here = Path.GetFullPath(path);
        if (Exists(here)) return here;
        if (SourceFile is not null)
        {
            var beside = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(SourceFile)!, path));
            if (Exists(beside)) return beside;
        }
        return null;

        static bool Exists(string p) => System.IO.File.Exists(p) || Directory.Exists(p);
    }

// Long on purpose: the config's sections in the order a config file has them, each field read with the Reader
// that names its YAML line; the method is the schema, read top to bottom.
    public static ExperimentConfig Parse(string text, string sourceName = "<config>")
    {
        var yaml = new YamlStream();
        try { yaml.Load(new StringReader(text)); }
        catch (YamlException e) { throw new ExperimentConfigException(sourceName, (int)e.Start.Line, e.Message); }
        if (yaml.Documents.Count != 1 || yaml.Documents[0].RootNode is not YamlMappingNode root)
            throw new ExperimentConfigException(sourceName, 0, "expected one YAML/JSON mapping");
        var r = new Reader(sourceName);
        var top = r.Fields(root, "name", "model", "sample_path", "task", "generation", "intervention", "gate", "scoring");

        var name = r.Text(top, root, "name", required: true)!;
        if (!SafeName.IsMatch(name))
            throw r.Error(top["name"], $"name '{name}' must be letters, digits, '.', '_' or '-' (it names the results folder)");
        var taskText = r.Text(top, root, "task", required: true)!;
        var task = taskText switch
        {
            "math" => BenchmarkTask.Math,
            "code" => BenchmarkTask.Code,
            _ => throw r.Error(top["task"], $"task must be math or code, not '{taskText}'"),
        };

        var generation = new GenerationSettings();
        if (top.TryGetValue("generation", out var genNode))
        {
            var map = r.Mapping(genNode, "generation");
            var g = r.Fields(map, "max_new_tokens", "do_sample", "temperature", "top_p", "top_k", "seed");
            generation = new GenerationSettings
            {
                MaxNewTokens = r.Int(g, "max_new_tokens", generation.MaxNewTokens, min: 1),
                DoSample = r.Bool(g, "do_sample", generation.DoSample),
                Temperature = r.Double(g, "temperature", generation.Temperature, min: 0),
                TopP = r.Double(g, "top_p", generation.TopP, min: 0, max: 1),
                TopK = r.Int(g, "top_k", generation.TopK, min: 0),
                Seed = r.Int(g, "seed", generation.Seed, min: int.MinValue),
            };
            if (generation.TopP <= 0)
                throw r.Error(g["top_p"], "'top_p' must be in (0, 1]: 0 keeps no token at all");
            if (generation.DoSample && generation.Temperature <= 0)
                throw r.Error(g.GetValueOrDefault("temperature") ?? genNode, "do_sample needs a temperature above 0");
        }

        var intervention = new InterventionSettings();
        if (top.TryGetValue("intervention", out var intNode))
        {
            var map = r.Mapping(intNode, "intervention");
            var i = r.Fields(map, "enabled", "method", "strength", "num_neurons", "pattern_path", "positions");
            var method = r.Text(i, map, "method", required: false) ?? intervention.Method.ToName();
            var positions = r.Text(i, map, "positions", required: false) ?? intervention.Positions.ToString().ToLowerInvariant();
            intervention = new InterventionSettings
            {
                Enabled = r.Bool(i, "enabled", false),
                Method = method switch
                {
                    "steering_add" => SteeringMethod.SteeringAdd,
                    "linear_blend" => SteeringMethod.LinearBlend,
                    "softplus_add" => SteeringMethod.SoftplusAdd,
                    _ => throw r.Error(i["method"], $"method must be steering_add, linear_blend or softplus_add, not '{method}'"),
                },
                Strength = r.Double(i, "strength", intervention.Strength, min: double.MinValue),
                NumNeurons = r.Int(i, "num_neurons", intervention.NumNeurons, min: 1),
                PatternPath = r.Text(i, map, "pattern_path", required: false),
                Positions = positions switch
                {
                    "last" => SteeringPositions.Last,
                    "all" => SteeringPositions.All,
                    _ => throw r.Error(i["positions"], $"positions must be last or all, not '{positions}'"),
                },
            };
            if (intervention.Enabled && intervention.PatternPath is null)
                throw r.Error(intNode, "an enabled intervention needs pattern_path");
        }

        GateSettings? gate = null;
        if (top.TryGetValue("gate", out var gateNode) && !IsNull(gateNode))
        {
            var map = r.Mapping(gateNode, "gate");
            var g = r.Fields(map, "file", "threshold", "token_probe", "probe_every");
            gate = new GateSettings
            {
                File = r.Text(g, map, "file", required: true)!,
                Threshold = g.ContainsKey("threshold") && !IsNull(g["threshold"]) ? r.Double(g, "threshold", 0, min: 0, max: 1) : null,
                TokenProbe = r.Text(g, map, "token_probe", required: false),
                ProbeEvery = g.ContainsKey("probe_every") ? r.Int(g, "probe_every", 0, min: 1) : null,
            };
            if (gate.ProbeEvery is not null && gate.TokenProbe is null)
                throw r.Error(g["probe_every"], "probe_every needs token_probe");
            if (!intervention.Enabled) throw r.Error(gateNode, "a gate decides when to steer: it needs intervention.enabled: true");
        }

        ScoringSettings? scoring = null;
        if (top.TryGetValue("scoring", out var scoringNode) && !IsNull(scoringNode))
        {
            var map = r.Mapping(scoringNode, "scoring");
            var sc = r.Fields(map, "unfinished_thoughts");
            var rule = r.Text(sc, map, "unfinished_thoughts", required: false) ?? "no_answer";
            scoring = new ScoringSettings
            {
                UnfinishedThoughts = rule switch
                {
                    "no_answer" => UnfinishedThoughts.NoAnswer,
                    "last_box" => UnfinishedThoughts.LastBox,
                    _ => throw r.Error(sc["unfinished_thoughts"], $"unfinished_thoughts must be no_answer or last_box, not '{rule}'"),
                },
            };
        }

        return new ExperimentConfig
        {
            Name = name,
            Model = r.Text(top, root, "model", required: true)!,
            SamplePath = r.Text(top, root, "sample_path", required: true)!,
            Task = task,
            Generation = generation,
            Intervention = intervention,
            Gate = gate,
            Scoring = scoring,
        };
    }

    static bool IsNull(YamlNode node) => node is YamlScalarNode { Value: null or "" or "~" or "null", Style: ScalarStyle.Plain };

    // ------------------------------------------------------------ canonical form and hash

    static readonly JsonSerializerOptions CanonicalJson = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        WriteIndented = true,
    };

    /// <summary>The config with every default filled in, as JSON (stored beside results).</summary>
    public string ToCanonicalJson() => JsonSerializer.Serialize(this, CanonicalJson);

    /// <summary>SHA-256 of <see cref="ToCanonicalJson"/>: comments, key order and spelling don't change it.</summary>
    [JsonIgnore]
    public string Hash => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(ToCanonicalJson())));

    /// <summary>Reads typed fields from YAML nodes, naming the line of anything wrong.</summary>
    sealed class Reader(string file)
    {
        public ExperimentConfigException Error(YamlNode node, string problem) => new(file, (int)node.Start.Line, problem);

        public YamlMappingNode Mapping(YamlNode node, string key) =>
            node as YamlMappingNode ?? throw Error(node, $"'{key}' must be a mapping");

        public Dictionary<string, YamlNode> Fields(YamlMappingNode map, params string[] allowed)
        {
            var result = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
            foreach (var (keyNode, value) in map.Children)
            {
                var key = (keyNode as YamlScalarNode)?.Value ?? throw Error(keyNode, "keys must be plain names");
                if (!allowed.Contains(key)) throw Error(keyNode, $"unknown key '{key}' (allowed: {string.Join(", ", allowed)})");
                if (!result.TryAdd(key, value)) throw Error(keyNode, $"duplicate key '{key}'");
            }
            return result;
        }

        string? Scalar(Dictionary<string, YamlNode> fields, string key)
        {
            if (!fields.TryGetValue(key, out var node)) return null;
            if (node is not YamlScalarNode s) throw Error(node, $"'{key}' must be a single value");
            return IsNull(s) ? null : s.Value;
        }

        public string? Text(Dictionary<string, YamlNode> fields, YamlNode parent, string key, bool required)
        {
            var value = Scalar(fields, key);
            if (value is null && required) throw Error(fields.GetValueOrDefault(key) ?? parent, $"missing '{key}'");
            return value;
        }

        public int Int(Dictionary<string, YamlNode> fields, string key, int fallback, int min)
        {
            var s = Scalar(fields, key);
            if (s is null) return fallback;
            if (!int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) || v < min)
                throw Error(fields[key], $"'{key}' must be an integer{(min > int.MinValue ? $" >= {min}" : "")}, not '{s}'");
            return v;
        }

        public double Double(Dictionary<string, YamlNode> fields, string key, double fallback, double min, double max = double.MaxValue)
        {
            var s = Scalar(fields, key);
            if (s is null) return fallback;
            if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !double.IsFinite(v) || v < min || v > max)
                throw Error(fields[key], $"'{key}' must be a number{(min > double.MinValue ? $" in [{min}, {(max == double.MaxValue ? "inf" : max)}]" : "")}, not '{s}'");
            return v;
        }

        public bool Bool(Dictionary<string, YamlNode> fields, string key, bool fallback)
        {
            var s = Scalar(fields, key);
            if (s is null) return fallback;
            return s.ToLowerInvariant() switch
            {
                "true" or "yes" or "on" => true,
                "false" or "no" or "off" => false,
                _ => throw Error(fields[key], $"'{key}' must be true or false, not '{s}'"),
            };
        }
    }
}
