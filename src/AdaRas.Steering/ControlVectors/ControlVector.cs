using AdaRas.Model;
using AdaRas.Steering.Kernels;
using AdaRas.Steering.Patterns;
using AdaRas.Steering.Plans;

namespace AdaRas.Steering.ControlVectors;

/// <summary>
/// A neuron-steering selection expressed as residual-stream vectors, one per layer, in the form llama.cpp's
/// control vectors take. Because <c>down_proj</c> is linear, adding <c>shift_j</c> to MLP neuron j of layer l
/// adds <c>shift_j * W_down[:, j]</c> to that layer's MLP output, i.e. to the residual stream after the MLP:
/// <c>v_l = sum over selected j in layer l of shift_j * W_down_l[:, j]</c>.
/// </summary>
/// <remarks>
/// <para>Only constant shifts convert: <c>steering_add</c> (shift = alpha * delta) and <c>softplus_add</c>
/// (shift = alpha * softplus(mu+)). <c>linear_blend</c> scales the activation (scale = 1 - alpha), so its
/// residual change depends on the activation itself and is no fixed vector.</para>
/// <para>llama.cpp's convention, read from its source: <c>common_control_vector_load_one</c> (common/common.cpp)
/// reads tensors named <c>direction.N</c> (F32, 1-D, n_embd values; N parsed as an integer, N = 0 or
/// unparsable rejected) into a buffer at offset <c>n_embd * (N - 1)</c>, reading no metadata;
/// <c>llama_adapter_cvec::apply</c> (src/llama-adapter.cpp) fills layer <c>il</c>'s tensor from offset
/// <c>n_embd * (il - 1)</c> for il = 1..n_layer-1 and never has one for layer 0; and the Qwen3 graph
/// (src/models/qwen3.cpp) adds it with <c>build_cvec(cur, il)</c> right after the FFN residual add of layer
/// <c>il</c>. So <c>direction.N</c> is added after layer N's MLP (0-based, the same numbering as
/// <c>model.layers.N</c>), layer 0 cannot be steered, and the vectors apply at every token position (AdaRas
/// steers only the last position of each forward call; identical at decode, different over a prompt).
/// The metadata written follows llama.cpp's own cvector-generator (tools/cvector-generator, export_gguf):
/// <c>general.architecture = "controlvector"</c>, <c>controlvector.model_hint</c> (the model's architecture),
/// <c>controlvector.layer_count</c> (int32, the number of direction tensors).</para>
/// </remarks>
internal sealed class ControlVector
{
    public const string Architecture = "controlvector";
    public const string ModelHint = "qwen3";

    /// <summary>The residual vector added after each layer's MLP, indexed by layer; layer 0's is always zero.</summary>
    public IReadOnlyList<float[]> Directions { get; }
    public int Layers => Directions.Count;
    public int HiddenSize { get; }
    public SteeringMethod Method { get; }
    public float Alpha { get; }
    public int Neurons { get; }
    public string PatternName { get; }
    public string? ModelId { get; }

    ControlVector(float[][] directions, int hidden, SteeringMethod method, float alpha, int neurons, string pattern, string? modelId)
    {
        Directions = directions; HiddenSize = hidden; Method = method; Alpha = alpha; Neurons = neurons; PatternName = pattern; ModelId = modelId;
    }

    /// <summary>The llama.cpp tensor name for layer <paramref name="layer"/> (0-based, as in model.layers.N).</summary>
    public static string TensorName(int layer) => $"direction.{layer}";

    /// <summary>The control vector equivalent to <paramref name="plan"/>, computed with the checkpoint's down_proj weights.</summary>
    public static ControlVector FromPlan(Checkpoint checkpoint, SteeringPlan plan) =>
        FromPattern(checkpoint, plan.Pattern, plan.Selected.Count, plan.Alpha, plan.Method);

    /// <summary>The control vector equivalent to steering the top <paramref name="neurons"/> of a pattern.</summary>
    public static ControlVector FromPattern(Checkpoint checkpoint, RcnPattern pattern, int neurons, float alpha, SteeringMethod method,
        CancellationToken cancellation = default)
    {
        var config = checkpoint.Config;
        if (config.NumHiddenLayers != pattern.Shape.Layers || config.IntermediateSize != pattern.Shape.IntermediateSize)
            throw new AdaRas.Files.InputException(
                $"{pattern.SourcePath}: pattern is for {pattern.Shape.Layers} x {pattern.Shape.IntermediateSize} neurons, " +
                $"the checkpoint {checkpoint.Folder} has {config.NumHiddenLayers} x {config.IntermediateSize}");
        if (!float.IsFinite(alpha)) throw new AdaRas.Files.UsageException($"alpha must be a finite number, got {alpha}");
        if (method == SteeringMethod.LinearBlend)
            throw new AdaRas.Files.UsageException(
                "linear_blend scales the activation (scale = 1 - alpha), so its change to the residual stream depends on the " +
                "activation and is not a fixed control vector; export steering_add or softplus_add");
        if (method.NeedsMuPlus()) pattern.RequireClassMeans(method.ToName());
        var selected = pattern.Top(neurons);
        var atLayerZero = selected.FirstOrDefault(n => n.Layer == 0);
        if (atLayerZero is not null)
            throw new AdaRas.Files.InputException(
                $"{pattern.SourcePath}:{atLayerZero.Line}: neuron {atLayerZero.NeuronId} is in layer 0, which llama.cpp control vectors " +
                "cannot steer (its direction.N is applied after layer N, N >= 1)");

        int hidden = config.HiddenSize, inter = config.IntermediateSize;
        var directions = new float[config.NumHiddenLayers][];
        for (int l = 0; l < directions.Length; l++) directions[l] = new float[hidden];
        foreach (var layer in selected.GroupBy(n => n.Layer))
        {
            cancellation.ThrowIfCancellationRequested();   // a layer's down_proj is the unit of work (tens of MB)
            // down_proj.weight is [hidden, I] row-major: column j is neuron j's contribution to the residual.
            var w = checkpoint.ReadFloat32(Qwen3Weights.Layer(layer.Key, Qwen3Weights.DownProj));
            var sum = new double[hidden];
            foreach (var n in layer)
            {
                float shift = method == SteeringMethod.SteeringAdd
                    ? alpha * n.Delta
                    : alpha * NeuronKernels.StableSoftplus(n.MuPlus!.Value);
                for (int h = 0; h < hidden; h++) sum[h] += (double)shift * w[(long)h * inter + n.Index];
            }
            for (int h = 0; h < hidden; h++) directions[layer.Key][h] = (float)sum[h];
        }
        return new ControlVector(directions, hidden, method, alpha, selected.Count, Path.GetFileName(pattern.SourcePath),
            pattern.Shape.ModelId ?? pattern.Sidecar?.ModelId);
    }

    /// <summary>
    /// Writes the llama.cpp control-vector GGUF: <c>direction.1</c> .. <c>direction.{layers-1}</c> (zero where
    /// nothing is steered), the cvector-generator metadata, and <c>adaras.*</c> keys describing the source.
    /// </summary>
    public void WriteGguf(string path, bool overwrite = false)
    {
        if (!overwrite && File.Exists(path)) throw new IOException($"{path}: already exists (pass overwrite to replace it)");
        var gguf = new GgufWriter()
            .AddString("general.architecture", Architecture)
            .AddString($"{Architecture}.model_hint", ModelHint)
            .AddInt32($"{Architecture}.layer_count", Layers - 1)
            .AddString("adaras.pattern", PatternName)
            .AddString("adaras.method", Method.ToName())
            .AddFloat32("adaras.alpha", Alpha)
            .AddUInt32("adaras.neurons", (uint)Neurons);
        if (ModelId is not null) gguf.AddString("adaras.model_id", ModelId);
        for (int l = 1; l < Layers; l++) gguf.AddTensor(TensorName(l), Directions[l], HiddenSize);
        gguf.Write(path);
    }
}
