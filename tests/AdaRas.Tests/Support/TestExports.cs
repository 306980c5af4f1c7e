using System.Collections.Concurrent;
using AdaRas.Export;
using AdaRas.Model;
using AdaRas.Model.Synthetic;

namespace AdaRas.Tests.Support;

/// <summary>Exported model folders of the test checkpoints, made once per test run and shared read-only.</summary>
internal static class TestExports
{
    static readonly ConcurrentDictionary<string, Lazy<string>> Made = new();

    public static string Folder(CheckpointShape shape, bool steerable = true, ExportPrecision precision = ExportPrecision.Fp32,
        TensorDType dtype = TensorDType.F32, ExternalDataMode external = ExternalDataMode.Auto, int seed = 1)
    {
        var key = $"{shape.Name}-s{seed}-{dtype}-{(steerable ? "steer" : "plain")}-{precision}-{external}";
        return Made.GetOrAdd(key, k => new Lazy<string>(() =>
        {
            var output = TestCheckpoints.NewFolder("export-" + k);
            Qwen3Exporter.Export(TestCheckpoints.Folder(shape, seed, dtype), output,
                new ExportOptions { Steerable = steerable, Precision = precision, ExternalData = external });
            return output;
        })).Value;
    }
}
