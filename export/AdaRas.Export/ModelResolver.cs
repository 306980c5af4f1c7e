using System.Security.Cryptography;
using System.Text;
using AdaRas.Model;

namespace AdaRas.Export;

/// <summary>
/// Lets every command take either an exported model folder or a Hugging Face checkpoint folder: a checkpoint is
/// exported once into a cache keyed by its files (path, sizes, modification times, export options) and reused.
/// </summary>
internal static class ModelResolver
{
    /// <summary>Where exports of checkpoints are cached: $ADARAS_CACHE, else $XDG_CACHE_HOME/adaras, else ~/.cache/adaras.</summary>
    public static string CacheRoot
    {
        get
        {
            var explicitRoot = Environment.GetEnvironmentVariable("ADARAS_CACHE");
            if (!string.IsNullOrEmpty(explicitRoot)) return explicitRoot;
            var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            var baseDir = !string.IsNullOrEmpty(xdg) ? xdg : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
            return Path.Combine(baseDir, "adaras");
        }
    }

    public static bool IsExported(string folder) => File.Exists(Path.Combine(folder, ModelManifest.FileName));
    public static bool IsCheckpoint(string folder) => File.Exists(Path.Combine(folder, Checkpoint.ConfigFile)) && !IsExported(folder);

    /// <summary>The exported folder for <paramref name="folder"/>, exporting a checkpoint first if needed.</summary>
    /// <remarks>
    /// Several processes may first-use one checkpoint at once: the first takes an exclusive lock on
    /// <c>&lt;key&gt;.lock</c> beside the cache entry and exports; the others wait for the lock and then find the
    /// export done. The lock is an OS file lock, so it is released even when its holder is killed.
    /// </remarks>
    public static string Resolve(string folder, ExportOptions? options = null, IProgress<ExportProgress>? progress = null,
        CancellationToken cancellation = default)
    {
        folder = Path.GetFullPath(folder);
        if (IsExported(folder)) return folder;
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"{folder}: model folder not found");
        if (!IsCheckpoint(folder))
            throw new ModelFormatException(folder, $"neither an exported model (no {ModelManifest.FileName}) nor a Hugging Face checkpoint (no {Checkpoint.ConfigFile})");
        options ??= new ExportOptions();
        var target = Path.Combine(CacheRoot, "exports", CacheKey(folder, options));
        if (IsExported(target)) return target;
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        using (AcquireLock(target + ".lock", cancellation))
        {
            if (IsExported(target)) return target;   // another process finished it while this one waited
            Qwen3Exporter.Export(folder, target, options with { Overwrite = true }, progress, cancellation);
        }
        return target;
    }

    static FileStream AcquireLock(string path, CancellationToken cancellation)
    {
        while (true)
        {
            try { return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
            catch (IOException) when (File.Exists(path))
            {
                // Held by another process (.NET takes an flock on Unix for FileShare.None); poll until it is free.
                cancellation.WaitHandle.WaitOne(200);
                cancellation.ThrowIfCancellationRequested();
            }
        }
    }

    static string CacheKey(string folder, ExportOptions options)
    {
        var text = new StringBuilder(folder).Append('|').Append(options.Precision).Append('|').Append(options.KvCache).Append('|').Append(options.Steerable)
            .Append('|').Append(options.ContextLength).Append('|').Append(options.BlockSize).Append('|').Append(options.AccuracyLevels).Append('|').Append(typeof(Qwen3Exporter).Assembly.ManifestModule.ModuleVersionId);
        foreach (var file in Directory.GetFiles(folder).Order(StringComparer.Ordinal))
        {
            var info = new FileInfo(file);
            text.Append('|').Append(info.Name).Append(':').Append(info.Length).Append(':').Append(info.LastWriteTimeUtc.Ticks);
        }
        var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString()))).ToLowerInvariant();
        return $"{Path.GetFileName(folder)}-{hash[..12]}";
    }
}
