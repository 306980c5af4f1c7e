using AdaRas.Engine;
using AdaRas.Evaluation.Speed.LlamaCpp;
using AdaRas.Tests.Support;
using AdaRas.Model.Synthetic;

namespace AdaRas.Tests.Speed;

/// <summary>
/// Before llama.cpp is a speed peer it must compute the same model: the GGUF this project writes, run by llama.cpp
/// (LLamaSharp's CPU backend) at F32, gives the engine's fp32 logits on the same ids.
/// </summary>
public class LlamaCppParityTests
{
    static readonly int[] Ids = [5, 17, 42, 99, 3, 150, 7, 64, 12, 200, 31];

    [TestCase("tiny"), TestCase("tiny-untied"), TestCase("tiny-mqa")]
    public void F32Gguf_GivesTheEnginesLogits(string shapeName)
    {
        var shape = CheckpointShapes.Get(shapeName);
        var gguf = Path.Combine(TestCheckpoints.NewFolder("gguf"), "model.gguf");
        Directory.CreateDirectory(Path.GetDirectoryName(gguf)!);
        Qwen3Gguf.Write(TestCheckpoints.Folder(shape), gguf);

        float[] expected;
        using (var model = AdaRas.Engine.LanguageModel.Load(TestExports.Folder(shape)))
        using (var generator = new Generator(model, new GeneratorParams { MaxLength = 32 }))
        {
            generator.AppendTokens(Ids, LogitsScope.All);
            expected = generator.AllLogits.ToArray();
        }
        using var llama = new LlamaCppRunner("llama.cpp F32", gguf, threads: 1, contextSize: 64, f32Cache: true);
        var actual = llama.AllLogits(Ids);
        // Exact mode (F32 KV cache, flash attention off): with llama.cpp's defaults the deviation is 0.07-0.11%.
        Assert.That(Compare.RelativeError(actual, expected), Is.LessThan(1e-4));
        int vocab = expected.Length / Ids.Length;
        for (int t = 0; t < Ids.Length; t++)
            Assert.That(ArgMax(actual.AsSpan(t * vocab, vocab)), Is.EqualTo(ArgMax(expected.AsSpan(t * vocab, vocab))), $"position {t}");
    }

    static int ArgMax(ReadOnlySpan<float> row)
    {
        int best = 0;
        for (int i = 1; i < row.Length; i++) if (row[i] > row[best]) best = i;
        return best;
    }

    [Test]
    public void F16Gguf_TracksF32()
    {
        var shape = CheckpointShapes.Tiny;
        var folder = TestCheckpoints.NewFolder("gguf16");
        Directory.CreateDirectory(folder);
        Qwen3Gguf.Write(TestCheckpoints.Folder(shape), Path.Combine(folder, "f32.gguf"));
        Qwen3Gguf.Write(TestCheckpoints.Folder(shape), Path.Combine(folder, "f16.gguf"), f16: true);
        Assert.That(new FileInfo(Path.Combine(folder, "f16.gguf")).Length, Is.LessThan(new FileInfo(Path.Combine(folder, "f32.gguf")).Length * 0.6));
        using var full = new LlamaCppRunner("F32", Path.Combine(folder, "f32.gguf"), 1, 64);
        using var half = new LlamaCppRunner("F16", Path.Combine(folder, "f16.gguf"), 1, 64);
        var a = full.AllLogits(Ids);
        var b = half.AllLogits(Ids);
        Assert.That(Compare.RelativeError(b, a), Is.LessThan(2e-2).And.GreaterThan(0));
    }
}
