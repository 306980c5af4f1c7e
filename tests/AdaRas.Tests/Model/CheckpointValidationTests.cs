using System.Buffers.Binary;
using System.Text.Json.Nodes;
using AdaRas.Model;
using AdaRas.Tests.Support;
using AdaRas.Model.Synthetic;
using static AdaRas.Tests.Model.SafeTensorsSurgery;

namespace AdaRas.Tests.Model;

/// <summary>
/// Each kind of bad checkpoint is rejected by <see cref="Checkpoint.Open"/> with one ModelFormatException whose
/// message names the file (and the tensor, where one is involved) and says what is wrong.
/// </summary>
public class CheckpointValidationTests
{
    static readonly CheckpointShape Shape = CheckpointShapes.Tiny;
    const string GateProj0 = "model.layers.0.mlp.gate_proj.weight";
    const string QNorm0 = "model.layers.0.self_attn.q_norm.weight";
    const string KNorm0 = "model.layers.0.self_attn.k_norm.weight";

    static string Weights(string folder) => Path.Combine(folder, Checkpoint.SingleWeightsFile);
    static string Config(string folder) => Path.Combine(folder, Checkpoint.ConfigFile);
    static string Index(string folder) => Path.Combine(folder, Checkpoint.IndexFile);

    /// <summary>Opens the checkpoint, expecting a rejection that names <paramref name="file"/> and <paramref name="tensor"/>.</summary>
    static ModelFormatException Rejects(string folder, string file, string? tensor, params string[] messageParts)
    {
        var ex = Assert.Throws<ModelFormatException>(() => Checkpoint.Open(folder).Dispose())!;
        TestContext.Out.WriteLine(ex.Message);
        Assert.Multiple(() =>
        {
            Assert.That(ex.FilePath, Is.EqualTo(Path.GetFullPath(file)));
            Assert.That(ex.Message, Does.Contain(Path.GetFullPath(file)));
            Assert.That(ex.TensorName, Is.EqualTo(tensor));
            if (tensor is not null) Assert.That(ex.Message, Does.Contain($"'{tensor}'"));
            foreach (var part in messageParts) Assert.That(ex.Message, Does.Contain(part));
        });
        return ex;
    }

    // ---- config.json ------------------------------------------------------------------------------------------

    [Test]
    public void MissingConfig()
    {
        var folder = TestCheckpoints.CopyOf(Shape);
        File.Delete(Config(folder));
        Rejects(folder, Config(folder), null, "file not found");
    }

    [Test]
    public void UnparsableConfig()
    {
        var folder = TestCheckpoints.CopyOf(Shape);
        File.WriteAllText(Config(folder), "{ \"model_type\": \"qwen3\", \"hidden_size\": 48,");
        Rejects(folder, Config(folder), null, "not valid JSON");
    }

    [Test]
    public void UnsupportedModelType()
    {
        var folder = TestCheckpoints.CopyOf(Shape);
        EditJson(Config(folder), c => c["model_type"] = "llama");
        Rejects(folder, Config(folder), null, "unsupported model_type 'llama'", "'qwen3'");
    }

    [TestCase("model_type", "3", "field 'model_type' must be a string")]
    [TestCase("hidden_size", "\"forty-eight\"", "field 'hidden_size' must be an integer")]
    [TestCase("hidden_size", "48.5", "field 'hidden_size' must be an integer")]
    [TestCase("tie_word_embeddings", "\"yes\"", "field 'tie_word_embeddings' must be true or false")]
    [TestCase("rope_theta", "\"big\"", "field 'rope_theta' must be a number")]
    [TestCase("eos_token_id", "\"<|im_end|>\"", "field 'eos_token_id' must be an integer or a list of integers")]
    [TestCase("eos_token_id", "{}", "field 'eos_token_id' must be an integer or a list of integers")]
    [TestCase("rope_scaling", "\"linear\"", "field 'rope_scaling' must be null or an object")]
    [TestCase("attention_bias", "1", "field 'attention_bias' must be true or false")]
    public void ConfigFieldOfTheWrongType(string field, string json, string message)
    {
        var folder = TestCheckpoints.CopyOf(Shape);
        EditJson(Config(folder), c => c[field] = JsonNode.Parse(json));
        Rejects(folder, Config(folder), null, message);
    }

    [TestCase("vocab_size", null, "missing required field 'vocab_size'")]
    [TestCase("num_attention_heads", "3", "must be a multiple of num_key_value_heads")]
    [TestCase("head_dim", "15", "head_dim (15) must be even")]
    [TestCase("intermediate_size", "0", "'intermediate_size' must be positive")]
    [TestCase("hidden_act", "\"gelu\"", "hidden_act 'gelu' is not supported")]
    [TestCase("attention_bias", "true", "attention_bias=true is not supported")]
    [TestCase("rope_scaling", "{\"rope_type\": \"yarn\", \"factor\": 4.0}", "rope_scaling type 'yarn' is not supported")]
    public void ConfigValueNotSupported(string field, string? json, string message)
    {
        var folder = TestCheckpoints.CopyOf(Shape);
        EditJson(Config(folder), c => { if (json is null) c.Remove(field); else c[field] = JsonNode.Parse(json); });
        Rejects(folder, Config(folder), null, message);
    }

    [Test]
    public void BadGenerationConfig()
    {
        var folder = TestCheckpoints.CopyOf(Shape);
        var path = Path.Combine(folder, Checkpoint.GenerationConfigFile);
        EditJson(path, c => c["eos_token_id"] = "stop");
        Rejects(folder, path, null, "field 'eos_token_id' must be an integer or a list of integers, got \"stop\"");
    }

    [Test]
    public void UnparsableGenerationConfig()
    {
        var folder = TestCheckpoints.CopyOf(Shape);
        var path = Path.Combine(folder, Checkpoint.GenerationConfigFile);
        File.WriteAllText(path, "{\"eos_token_id\": [1, 2");
        Rejects(folder, path, null, "cannot parse");
    }

    // ---- safetensors structure ----------------------------------------------------------------------------------

    [Test]
    public void NoWeightsAtAll()
    {
        var folder = TestCheckpoints.CopyOf(Shape);
        File.Delete(Weights(folder));
        Rejects(folder, folder, null, "no model.safetensors and no model.safetensors.index.json");
    }

    [Test]
    public void FileTooShortForAHeader()
    {
        var folder = TestCheckpoints.CopyOf(Shape);
        File.WriteAllBytes(Weights(folder), [1, 2, 3]);
        Rejects(folder, Weights(folder), null, "too short");
    }

    [Test]
    public void HeaderLengthLongerThanTheFile()
    {
        var folder = TestCheckpoints.CopyOf(Shape);
        var bytes = File.ReadAllBytes(Weights(folder));
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)bytes.Length);
        File.WriteAllBytes(Weights(folder), bytes);
        Rejects(folder, Weights(folder), null, $"header length {bytes.Length} is longer than the file ({bytes.Length} bytes)");
    }

    [Test]
    public void HeaderNotJson()
    {
        var folder = TestCheckpoints.CopyOf(Shape);
        var (_, data) = Read(Weights(folder));
        Write(Weights(folder), "{\"model.norm.weight\": {\"dtype\": ", data);
        Rejects(folder, Weights(folder), null, "header is not valid JSON");
    }

    [Test]
    public void HeaderEntryMalformed()
    {
        var folder = TestCheckpoints.CopyOf(Shape);
        EditHeader(Weights(folder), h => h[QNorm0]!.AsObject().Remove("shape"));
        Rejects(folder, Weights(folder), QNorm0, "header entry has no 'shape'");
    }

    [Test]
    public void HeaderEntryNotAnObject()
    {
        var folder = TestCheckpoints.CopyOf(Shape);
        EditHeader(Weights(folder), h => h[QNorm0] = 5);
        Rejects(folder, Weights(folder), QNorm0, "header entry has no 'dtype'");
    }

    [Test]
    public void TensorNameTwiceInTheHeader()
    {
        var folder = TestCheckpoints.CopyOf(Shape);
        var (header, data) = Read(Weights(folder));
        var entry = header[QNorm0]!.ToJsonString();
        var text = header.ToJsonString();
        Write(Weights(folder), text[..^1] + $",\"{QNorm0}\":{entry}}}", data);
        Rejects(folder, Weights(folder), QNorm0, "appears twice");
    }

    [Test]
    public void TensorOffsetsPastTheEndOfTheData()
    {
        var folder = TestCheckpoints.CopyOf(Shape);
        long dataLength = Read(Weights(folder)).Data.LongLength;
        EditHeader(Weights(folder), h =>
        {
            var o = Offsets(h, GateProj0);
            SetOffsets(h, GateProj0, dataLength - 8, dataLength - 8 + (o[1] - o[0]));
        });
        Rejects(folder, Weights(folder), GateProj0, "run past the end of the data section", $"({dataLength} bytes)");
    }

    [Test]
    public void TensorOffsetsInverted()
    {
        var folder = TestCheckpoints.CopyOf(Shape);
        EditHeader(Weights(folder), h => { var o = Offsets(h, GateProj0); SetOffsets(h, GateProj0, o[1], o[0]); });
        Rejects(folder, Weights(folder), GateProj0, "invalid data_offsets");
    }

    [Test]
    public void TensorOffsetsDisagreeWithTheShape()
    {
        var folder = TestCheckpoints.CopyOf(Shape);
        EditHeader(Weights(folder), h => { var o = Offsets(h, GateProj0); SetOffsets(h, GateProj0, o[0], o[1] - 4); });
        Rejects(folder, Weights(folder), GateProj0, "shape [96, 48] of F32 needs 18432 bytes but data_offsets span 18428");
    }

    [Test]
    public void TensorsOverlap()
    {
        var folder = TestCheckpoints.CopyOf(Shape);
        // q_norm and k_norm have the same size; give q_norm a region that starts inside k_norm's.
        EditHeader(Weights(folder), h =>
        {
            var k = Offsets(h, KNorm0);
            SetOffsets(h, QNorm0, k[0] + 4, k[1] + 4);
        });
        var ex = Rejects(folder, Weights(folder), QNorm0, "overlap", $"'{KNorm0}'");
        Assert.That(ex.Message, Does.Contain("[").And.Contain(")"), "the message shows both byte ranges");
    }

    // ---- tensors against the config ------------------------------------------------------------------------------

    [Test]
    public void TensorDTypeNotFloat()
    {
        var folder = TestCheckpoints.CopyOf(Shape);
        EditHeader(Weights(folder), h => h["model.norm.weight"]!["dtype"] = "I32"); // same size as F32
        Rejects(folder, Weights(folder), "model.norm.weight", "dtype I32 is not a float type");
    }

    [Test]
    public void TensorDTypeUnknown()
    {
        var folder = TestCheckpoints.CopyOf(Shape);
        EditHeader(Weights(folder), h => h["model.norm.weight"]!["dtype"] = "F8_E4M3");
        Rejects(folder, Weights(folder), "model.norm.weight", "unsupported dtype 'F8_E4M3'");
    }

    [Test]
    public void TensorDTypeDiffersFromTheOthers()
    {
        var folder = TestCheckpoints.CopyOf(Shape);
        var name = "model.layers.1.mlp.up_proj.weight";
        EditTensors(Weights(folder), tensors =>
        {
            int i = tensors.FindIndex(t => t.Name == name);
            var values = new float[tensors[i].Bytes.Length / 4];
            TensorDTypes.ToFloat32(TensorDType.F32, tensors[i].Bytes, values);
            tensors[i] = TensorData.FromFloat32(name, TensorDType.BF16, tensors[i].Shape, values);
        });
        Rejects(folder, Weights(folder), name, "dtype BF16 differs from the other weights (F32)");
    }

    [Test]
    public void TensorShapeDisagreesWithTheConfig()
    {
        var folder = TestCheckpoints.CopyOf(Shape);
        EditHeader(Weights(folder), h => h[GateProj0]!["shape"] = new JsonArray(48, 96)); // transposed: same bytes
        Rejects(folder, Weights(folder), GateProj0, "shape [48, 96] disagrees with config.json, which implies [96, 48]");
    }

    [Test]
    public void ConfigDisagreesWithTheTensors()
    {
        var folder = TestCheckpoints.CopyOf(Shape);
        EditJson(Config(folder), c => c["intermediate_size"] = 64);
        Rejects(folder, Weights(folder), GateProj0, "shape [96, 48] disagrees with config.json, which implies [64, 48]");
    }

    [Test]
    public void MissingTensor()
    {
        var folder = TestCheckpoints.CopyOf(Shape);
        EditTensors(Weights(folder), tensors => tensors.RemoveAll(t => t.Name == KNorm0));
        Rejects(folder, Weights(folder), KNorm0, "missing from the checkpoint");
    }

    [Test]
    public void UnexpectedTensor()
    {
        var folder = TestCheckpoints.CopyOf(Shape);
        var extra = "model.layers.2.mlp.up_proj.weight"; // the tiny model has layers 0 and 1 only
        EditTensors(Weights(folder), tensors => tensors.Add(tensors.Single(t => t.Name == "model.layers.1.mlp.up_proj.weight") with { Name = extra }));
        Rejects(folder, Weights(folder), extra, "unexpected tensor");
    }

    [Test]
    public void LmHeadOfTheWrongShapeInATiedCheckpoint()
    {
        var folder = TestCheckpoints.CopyOf(Shape);
        EditTensors(Weights(folder), tensors => tensors.Add(TensorData.FromFloat32(Qwen3Weights.LmHead, TensorDType.F32, [10, 48], new float[480])));
        Rejects(folder, Weights(folder), Qwen3Weights.LmHead, "unexpected tensor");
    }

    // ---- sharded checkpoints --------------------------------------------------------------------------------------

    [Test]
    public void IndexNamesAnAbsentShard()
    {
        var folder = TestCheckpoints.CopyOf(Shape, shards: 3);
        File.Delete(Path.Combine(folder, "model-00002-of-00003.safetensors"));
        Rejects(folder, Index(folder), null, "names shard 'model-00002-of-00003.safetensors', which is not in the folder");
    }

    [Test]
    public void IndexNamesAShardOutsideTheFolder()
    {
        var folder = TestCheckpoints.CopyOf(Shape, shards: 3);
        EditJson(Index(folder), i => i["weight_map"]![KNorm0] = "../model-00001-of-00003.safetensors");
        Rejects(folder, Index(folder), null, "not a plain file name");
    }

    [Test]
    public void IndexUnparsable()
    {
        var folder = TestCheckpoints.CopyOf(Shape, shards: 2);
        File.WriteAllText(Index(folder), "{\"weight_map\": [");
        Rejects(folder, Index(folder), null, "cannot parse");
    }

    [Test]
    public void IndexWithoutWeightMap()
    {
        var folder = TestCheckpoints.CopyOf(Shape, shards: 2);
        EditJson(Index(folder), i => i.Remove("weight_map"));
        Rejects(folder, Index(folder), null, "missing 'weight_map'");
    }

    [Test]
    public void IndexEntryNull()
    {
        var folder = TestCheckpoints.CopyOf(Shape, shards: 2);
        EditJson(Index(folder), i => i["weight_map"]![KNorm0] = null);
        Rejects(folder, Index(folder), KNorm0, "null");
    }

    [Test]
    public void ShardHoldsATensorTheIndexDoesNotList()
    {
        var folder = TestCheckpoints.CopyOf(Shape, shards: 3);
        var index = (JsonObject)JsonNode.Parse(File.ReadAllText(Index(folder)))!;
        var shard = (string)index["weight_map"]![KNorm0]!;
        EditJson(Index(folder), i => i["weight_map"]!.AsObject().Remove(KNorm0));
        Rejects(folder, Path.Combine(folder, shard), KNorm0, "is not listed in model.safetensors.index.json");
    }

    [Test]
    public void IndexPlacesATensorInTheWrongShard()
    {
        var folder = TestCheckpoints.CopyOf(Shape, shards: 3);
        var map = ((JsonObject)JsonNode.Parse(File.ReadAllText(Index(folder)))!)["weight_map"]!.AsObject();
        var actual = (string)map[KNorm0]!;
        var other = map.Select(kv => (string)kv.Value!).First(s => s != actual);
        EditJson(Index(folder), i => i["weight_map"]![KNorm0] = other);
        var ex = Assert.Throws<ModelFormatException>(() => Checkpoint.Open(folder).Dispose())!;
        Assert.That(ex.TensorName, Is.EqualTo(KNorm0));
        Assert.That(ex.Message, Does.Contain(other).Or.Contain(actual));
    }

    [Test]
    public void IndexListsATensorMissingFromItsShard()
    {
        var folder = TestCheckpoints.CopyOf(Shape, shards: 3);
        var map = ((JsonObject)JsonNode.Parse(File.ReadAllText(Index(folder)))!)["weight_map"]!.AsObject();
        var shard = (string)map[KNorm0]!;
        EditTensors(Path.Combine(folder, shard), tensors => tensors.RemoveAll(t => t.Name == KNorm0));
        Rejects(folder, Path.Combine(folder, shard), KNorm0, "listed in model.safetensors.index.json but missing from the shard");
    }

    [Test]
    public void ShardedCheckpointMissingATensorEverywhere()
    {
        var folder = TestCheckpoints.CopyOf(Shape, shards: 3);
        var map = ((JsonObject)JsonNode.Parse(File.ReadAllText(Index(folder)))!)["weight_map"]!.AsObject();
        var shard = (string)map[KNorm0]!;
        EditTensors(Path.Combine(folder, shard), tensors => tensors.RemoveAll(t => t.Name == KNorm0));
        EditJson(Index(folder), i => i["weight_map"]!.AsObject().Remove(KNorm0));
        Rejects(folder, Index(folder), KNorm0, "missing from the checkpoint");
    }
}
