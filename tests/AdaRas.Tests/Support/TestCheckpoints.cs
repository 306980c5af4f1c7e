using System.Collections.Concurrent;
using AdaRas.Model;
using AdaRas.Model.Synthetic;

namespace AdaRas.Tests.Support;

/// <summary>
/// Tiny random checkpoints for tests, written once per test run under a private temporary folder (deleted after
/// the run). Tests that edit files must use <see cref="CopyOf"/> or <see cref="NewFolder"/>.
/// </summary>
internal static class TestCheckpoints
{
    static readonly Lazy<string> RootFolder = new(() =>
    {
        var root = Path.Combine(Path.GetTempPath(), $"adaras-tests-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(root);
        return root;
    });

    /// <summary>Removes everything this run wrote (called once after all tests, by <see cref="TestRunCleanup"/>).</summary>
    internal static void DeleteAll()
    {
        if (!RootFolder.IsValueCreated) return;
        try { Directory.Delete(RootFolder.Value, recursive: true); }
        catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    static readonly ConcurrentDictionary<string, Lazy<string>> Made = new();

    /// <summary>A shared, read-only checkpoint of this shape, seed, dtype and shard count.</summary>
    public static string Folder(CheckpointShape shape, int seed = 1, TensorDType dtype = TensorDType.F32, int shards = 1)
    {
        var key = $"{shape.Name}-s{seed}-{dtype}-x{shards}";
        return Made.GetOrAdd(key, k => new Lazy<string>(() =>
        {
            var folder = Path.Combine(RootFolder.Value, k);
            RandomCheckpoint.Write(folder, shape, seed, dtype, shards);
            return folder;
        })).Value;
    }

    /// <summary>A fresh, empty folder path (not yet created) for a test's own output.</summary>
    public static string NewFolder(string name) => Path.Combine(RootFolder.Value, "scratch", $"{name}-{Guid.NewGuid():N}");

    /// <summary>A private copy of a shared checkpoint, safe to corrupt.</summary>
    public static string CopyOf(CheckpointShape shape, int seed = 1, TensorDType dtype = TensorDType.F32, int shards = 1)
    {
        var source = Folder(shape, seed, dtype, shards);
        var copy = NewFolder(Path.GetFileName(source));
        Directory.CreateDirectory(copy);
        foreach (var file in Directory.GetFiles(source)) File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
        return copy;
    }
}
