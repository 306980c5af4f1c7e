namespace AdaRas.Cli.Commands;

/// <summary>Results are never overwritten silently: a verb checks every output path before it starts work.</summary>
static class OutputFiles
{
    public static void RefuseExisting(bool force, params string?[] paths)
    {
        if (force) return;
        foreach (var path in paths)
            if (path is not null && File.Exists(path))
                throw new IOException($"{Path.GetFullPath(path)} already exists (pass --force to replace it)");
    }

    /// <summary><paramref name="path"/> with its extension replaced by <paramref name="suffix"/> (gate.bin -> gate.report.json).</summary>
    public static string Beside(string path, string suffix) => Path.ChangeExtension(path, null) + suffix;
}
