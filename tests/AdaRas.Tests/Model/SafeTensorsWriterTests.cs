using AdaRas.Model;
using AdaRas.Tests.Support;

namespace AdaRas.Tests.Model;

public class SafeTensorsWriterTests
{
    [Test]
    public void StreamedTensors_AreWrittenInNameOrderAndReadBack()
    {
        var folder = TestCheckpoints.NewFolder("stream");
        var path = Path.Combine(folder, "t.safetensors");
        float[] a = [1.5f, -2f, 3.25f, 0f, 7f, -0.125f];
        float[] b = [10f, 20f];
        SafeTensorsWriter.Write(path, new[]
        {
            new StreamedTensor("z.second", TensorDType.BF16, [2], s => s.Write(TensorDTypes.FromFloat32(TensorDType.BF16, b))),
            // Produced in two chunks, as the checkpoint maker does for large tensors.
            new StreamedTensor("a.first", TensorDType.F32, [2, 3], s =>
            {
                s.Write(TensorDTypes.FromFloat32(TensorDType.F32, a.AsSpan(0, 4)));
                s.Write(TensorDTypes.FromFloat32(TensorDType.F32, a.AsSpan(4)));
            }),
        }, new Dictionary<string, string> { ["format"] = "pt" });

        using var file = SafeTensorsFile.Open(path);
        Assert.That(file.Tensors["a.first"].Begin, Is.Zero);
        Assert.That(file.Tensors["z.second"].Begin, Is.EqualTo(24));
        Assert.That(file.ReadFloat32(file.Get("a.first")), Is.EqualTo(a));
        Assert.That(file.ReadFloat32(file.Get("z.second")), Is.EqualTo(b));
        Assert.That(file.Metadata["format"], Is.EqualTo("pt"));
        Assert.That((new FileInfo(path).Length - 8 - 28) % 8, Is.Zero, "header padded to a multiple of 8 bytes");
    }

    [Test]
    public void StreamedTensor_WritingTheWrongByteCount_FailsAndLeavesNoFile()
    {
        var folder = TestCheckpoints.NewFolder("short");
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, "t.safetensors");
        var ex = Assert.Throws<InvalidOperationException>(() => SafeTensorsWriter.Write(path,
            [new StreamedTensor("w", TensorDType.F32, [4], s => s.Write(new byte[12]))]));
        Assert.That(ex!.Message, Does.Contain("'w'").And.Contain("16 bytes").And.Contain("wrote 12"));
        Assert.That(Directory.GetFiles(folder), Is.Empty, "the temporary file is removed and nothing is renamed into place");
    }

    [Test]
    public void DuplicateNames_AreRefused()
    {
        var path = Path.Combine(TestCheckpoints.NewFolder("dup"), "t.safetensors");
        var t = TensorData.FromFloat32("w", TensorDType.F32, [1], [1f]);
        Assert.Throws<ArgumentException>(() => SafeTensorsWriter.Write(path, [t, t]));
    }
}
