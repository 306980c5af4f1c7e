namespace AdaRas.Files;

/// <summary>
/// Write-to-temporary-then-rename, so a crash or a bad input never leaves a half-written file where a
/// finished one is expected.
/// </summary>
internal static class AtomicFile
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
    /// Builds a folder in a sibling temporary folder (<c>&lt;name&gt;.tmp-&lt;pid&gt;-&lt;guid&gt;</c>) and renames it into
    /// place at the end. An existing destination is only replaced when <paramref name="overwrite"/> is set. A failure
    /// or cancellation removes the temporary folder; one left by a killed process (its pid no longer running) is
    /// removed by the next write to the same destination.
    /// </summary>
    public static void WriteFolder(string path, bool overwrite, Action<string> build)
    {
        var full = Path.GetFullPath(path.TrimEnd('/', '\\'));
        if (Directory.Exists(full) && !overwrite)
            throw new IOException($"{full}: output folder already exists (pass --force to replace it)");
        if (File.Exists(full)) throw new IOException($"{full}: a file exists where the output folder should go");
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        RemoveStaleTemporaries(full);
        var temp = full + $".tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        try
        {
            Directory.CreateDirectory(temp);
            build(temp);
            if (Directory.Exists(full))
            {
                var old = full + $".old-{Environment.ProcessId}-{Guid.NewGuid():N}";
                Directory.Move(full, old);
                Directory.Move(temp, full);
                TryDeleteFolder(old);
            }
            else Directory.Move(temp, full);
        }
        catch
        {
            TryDeleteFolder(temp);
            throw;
        }
    }

    /// <summary>
    /// Deletes <c>&lt;name&gt;.tmp-&lt;pid&gt;-*</c> and <c>&lt;name&gt;.old-&lt;pid&gt;-*</c> siblings whose process is gone
    /// (a SIGKILL or power loss gives no chance to clean up; an export's temporary folder can hold gigabytes).
    /// </summary>
    public static int RemoveStaleTemporaries(string full)
    {
        var parent = Path.GetDirectoryName(full)!;
        var name = Path.GetFileName(full);
        if (!Directory.Exists(parent)) return 0;
        int removed = 0;
        foreach (var kind in new[] { ".tmp-", ".old-" })
            foreach (var dir in Directory.EnumerateDirectories(parent, name + kind + "*"))
            {
                var rest = Path.GetFileName(dir)[(name.Length + kind.Length)..];
                int dash = rest.IndexOf('-');
                if (dash <= 0 || !int.TryParse(rest[..dash], out var pid) || IsRunning(pid)) continue;
                if (TryDeleteFolder(dir)) removed++;
            }
        return removed;
    }

    static bool IsRunning(int pid)
    {
        if (pid == Environment.ProcessId) return true;
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException) { return false; }          // no such process
        catch (InvalidOperationException) { return false; }
    }

    static bool TryDeleteFolder(string folder)
    {
        try
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
            return true;
        }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    }

    static void TryDelete(string file)
    {
        try { File.Delete(file); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
