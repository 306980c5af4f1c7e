namespace AdaRas.Files;

/// <summary>
/// Write-to-temporary-then-rename, so a crash or a bad input never leaves a half-written file where a
/// finished one is expected.
/// </summary>
public static class AtomicFile
{
    public static void Write(string path, Action<Stream> write)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temp = full + $".tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
                write(stream);
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    public static void WriteAllText(string path, string text) =>
        Write(path, s => { using var w = new StreamWriter(s, new System.Text.UTF8Encoding(false)); w.Write(text); });

    /// <summary>
    /// Builds a folder in a sibling temporary folder and renames it into place at the end. An existing
    /// destination is only replaced when <paramref name="overwrite"/> is set.
    /// </summary>
    public static void WriteFolder(string path, bool overwrite, Action<string> build)
    {
        var full = Path.GetFullPath(path.TrimEnd('/', '\\'));
        if (Directory.Exists(full) && !overwrite)
            throw new IOException($"{full}: output folder already exists (pass --force to replace it)");
        if (File.Exists(full)) throw new IOException($"{full}: a file exists where the output folder should go");
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temp = full + $".tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        try
        {
            Directory.CreateDirectory(temp);
            build(temp);
            if (Directory.Exists(full))
            {
                var old = full + $".old-{Guid.NewGuid():N}";
                Directory.Move(full, old);
                Directory.Move(temp, full);
                Directory.Delete(old, recursive: true);
            }
            else Directory.Move(temp, full);
        }
        catch
        {
            try { if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true); } catch (IOException) { }
            throw;
        }
    }

    static void TryDelete(string file)
    {
        try { File.Delete(file); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
