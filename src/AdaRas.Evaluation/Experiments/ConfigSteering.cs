using AdaRas.Steering.Patterns;
using AdaRas.Workflows;

namespace AdaRas.Evaluation.Experiments;

/// <summary>An experiment config's intervention and gate as <see cref="SteeringSettings"/>, with its relative paths resolved.</summary>
static class ConfigSteering
{
    public static SteeringSettings Settings(ExperimentConfig config)
    {
        if (!config.Intervention.Enabled) return SteeringSettings.None;
        var gate = config.Gate;
        return new SteeringSettings
        {
            Steering = config.Intervention.ToSteeringOptions(ResolvePattern(config)),
            GatePath = gate is null ? null : Resolve(config, gate.File, "gate file"),
            GateThreshold = gate?.Threshold,
            TokenProbePath = gate?.TokenProbe is { } probe ? Resolve(config, probe, "token probe file") : null,
            ProbeEvery = gate?.ProbeEvery,
        };
    }

    static string Resolve(ExperimentConfig config, string path, string what) =>
        config.TryResolvePath(path)
        ?? throw new FileNotFoundException($"{Where(config)}: {what} '{path}' not found (looked in {Environment.CurrentDirectory}{Beside(config)})");

    /// <summary>pattern_path: a CSV (from here or beside the config), else the file name of a released pattern.</summary>
    public static string ResolvePattern(ExperimentConfig config)
    {
        var text = config.Intervention.PatternPath!;
        if (config.TryResolvePath(text) is { } found && File.Exists(found)) return found;
        if (text.IndexOfAny(['/', '\\']) < 0)
        {
            try { return PaperPatterns.Find(text).Path; }
            catch (AdaRas.Files.UsageException) { /* not a released name either: reported below */ }
        }
        throw new FileNotFoundException(
            $"{Where(config)}: pattern_path '{text}' is not a file (looked in {Environment.CurrentDirectory}{Beside(config)}) " +
            $"nor a released pattern ({string.Join(", ", PaperPatterns.All.Select(e => e.FileName))})");
    }

    internal static string Where(ExperimentConfig config) => config.SourceFile ?? $"config '{config.Name}'";

    static string Beside(ExperimentConfig config) =>
        config.SourceFile is null ? "" : $" and in {Path.GetDirectoryName(config.SourceFile)}";
}
