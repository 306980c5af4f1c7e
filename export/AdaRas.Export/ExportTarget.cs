using AdaRas.Model;

namespace AdaRas.Export;

/// <summary>
/// Where an export may write. The output is built beside the destination and renamed into place, and
/// <c>--force</c> deletes what was there; so the destination must not hold the checkpoint being read, and only a
/// folder that is itself an export (or empty) may be replaced.
/// </summary>
static class ExportTarget
{
    public static void Check(string checkpointFolder, string outputFolder, bool overwrite)
    {
        var input = RealPath(checkpointFolder);
        var output = RealPath(outputFolder);
        if (IsSameOrInside(input, output))
            throw new InputException(outputFolder, null,
                input == output ? "the output folder is the checkpoint itself; choose another --out"
                                : $"the output folder contains the checkpoint {checkpointFolder}; replacing it would delete the input; choose another --out");
        if (!Directory.Exists(output)) return;
        if (!overwrite)
            throw new InputException(outputFolder, null, "output folder already exists (pass --force to replace it)");
        bool empty = !Directory.EnumerateFileSystemEntries(output).Any();
        if (!empty && !ModelResolver.IsExported(output))
            throw new InputException(outputFolder, null,
                $"--force replaces only an exported model folder (one with {ModelManifest.FileName}) or an empty one; this folder is neither, so it is left alone");
    }

    /// <summary>True when <paramref name="path"/> is <paramref name="folder"/> or lies somewhere below it.</summary>
    static bool IsSameOrInside(string path, string folder) =>
        path == folder || path.StartsWith(folder.EndsWith(Path.DirectorySeparatorChar) ? folder : folder + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    /// <summary>The absolute path with every symbolic link among its existing components resolved.</summary>
    internal static string RealPath(string path)
    {
        var full = Path.GetFullPath(path).TrimEnd(Path.DirectorySeparatorChar);
        if (full.Length == 0) return Path.DirectorySeparatorChar.ToString();
        var parts = full.Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
        var current = Path.DirectorySeparatorChar.ToString();
        for (int i = 0; i < parts.Length; i++)
        {
            var next = Path.Combine(current, parts[i]);
            for (int hops = 0; hops < 40; hops++)   // follow link chains, as the kernel does, up to its limit
            {
                FileSystemInfo info = new DirectoryInfo(next);
                if (!info.Exists) info = new FileInfo(next);
                if (info.LinkTarget is not { } target) break;
                next = Path.GetFullPath(target, Path.GetDirectoryName(next)!).TrimEnd(Path.DirectorySeparatorChar);
            }
            current = next;
        }
        return current;
    }
}
