using System.Globalization;
using System.Text.Json;
using AdaRas.Model;
using AdaRas.Tests.Support;

namespace AdaRas.Tests.Cuda;

/// <summary>Pattern files for the CUDA tests: K distinct random neurons in the paper's CSV layout.</summary>
static class CudaPatterns
{
    public static string Write(ModelManifest manifest, int neurons, int seed)
    {
        var rng = new Random(seed);
        int inter = manifest.IntermediateSize;
        var ids = new HashSet<long>();
        while (ids.Count < neurons) ids.Add(rng.NextInt64((long)manifest.NumLayers * inter));
        var path = Path.Combine(Directory.CreateDirectory(TestCheckpoints.NewFolder("cuda-pattern")).FullName, "pattern.csv");
        var lines = new List<string> { "overall_neuron_index,layer,neuron_index_in_layer,weight,abs_weight" };
        foreach (var id in ids)
        {
            float w = (float)(rng.NextDouble() * 4 - 2);
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"{id},{id / inter},{id % inter},{w},{Math.Abs(w)}"));
        }
        File.WriteAllLines(path, lines);
        return path;
    }
}

/// <summary>
/// Measurements the CUDA tests hand to tools/cuda/run-all.sh: one JSON file per entry in the folder named by
/// <c>ADARAS_CUDA_REPORT</c> (nothing is written when it is unset).
/// </summary>
static class CudaReport
{
    public const string Variable = "ADARAS_CUDA_REPORT";

    public static void Write(string name, object value)
    {
        var dir = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrEmpty(dir)) return;
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, name + ".json"), JsonSerializer.Serialize(value, new JsonSerializerOptions { WriteIndented = true }));
    }
}
