using System.CommandLine;
using System.Diagnostics;
using AdaRas.Export;

namespace AdaRas.Cli.Commands;

static class ExportCommand
{
    public static Command Create(CliConsole console)
    {
        var checkpoint = new Argument<string>("checkpoint") { Description = "Hugging Face Qwen3 checkpoint folder" };
        var output = new Option<string>("--out", "-o") { Description = "output model folder", Required = true };
        var precision = new Option<string>("--precision")
        {
            Description = "fp32 (CPU), fp16 (CUDA), int8 or int4 (block-quantized MatMulNBits projections, CPU)", DefaultValueFactory = _ => "fp32",
        };
        precision.AcceptOnlyFromAmong("fp32", "fp16", "int8", "int4");
        var blockSize = new Option<int>("--block-size") { Description = "int8/int4: weights per scale", DefaultValueFactory = _ => 32 };
        var accuracy = new Option<string?>("--accuracy-level")
        {
            Description = $"int8/int4: MatMulNBits accuracy_level, one for all or per projection, e.g. \"4,down_proj=1,lm_head=1\" (default {AccuracyLevels.Default})",
        };
        var kvCache = new Option<string>("--kv-cache")
        {
            Description = "KV cache element type: model (float32, or float16 in an fp16 export) or fp16 (half the cache memory at any precision)",
            DefaultValueFactory = _ => "model",
        };
        kvCache.AcceptOnlyFromAmong("model", "fp16");
        var plain = new Option<bool>("--plain") { Description = "export without steering inputs and taps (to measure their cost)" };
        var external = new Option<string>("--external-data") { Description = "auto, always or never", DefaultValueFactory = _ => "auto" };
        external.AcceptOnlyFromAmong("auto", "always", "never");
        var context = new Option<int?>("--context-length") { Description = "longest sequence (default: max_position_embeddings)" };
        var force = new Option<bool>("--force") { Description = "replace an existing output folder" };

        var command = new Command("export", "Export a Hugging Face Qwen3 checkpoint to a steerable ONNX model folder")
        {
            checkpoint, output, precision, kvCache, blockSize, accuracy, plain, external, context, force,
        };
        command.SetAction((parse, cancellation) => Task.FromResult(CommandRunner.Run(console, () =>
        {
            var options = new ExportOptions
            {
                Precision = Enum.Parse<ExportPrecision>(parse.GetValue(precision)!, ignoreCase: true),
                KvCache = Enum.Parse<KvCachePrecision>(parse.GetValue(kvCache)!, ignoreCase: true),
                BlockSize = parse.GetValue(blockSize),
                AccuracyLevels = parse.GetValue(accuracy) is string levels ? AccuracyLevels.Parse(levels) : AccuracyLevels.Default,
                Steerable = !parse.GetValue(plain),
                ExternalData = Enum.Parse<ExternalDataMode>(parse.GetValue(external)!, ignoreCase: true),
                ContextLength = parse.GetValue(context),
                Overwrite = parse.GetValue(force),
            };
            var progress = new ThrottledProgress<ExportProgress>(p =>
                console.Error.Write($"\r{p.Step,-16} {p.BytesDone / 1e6,9:F1} / {p.BytesTotal / 1e6:F1} MB   "));
            var result = Qwen3Exporter.Export(parse.GetValue(checkpoint)!, parse.GetValue(output)!, options, progress, cancellation);
            console.Error.WriteLine();
            long peak = Process.GetCurrentProcess().PeakWorkingSet64;
            console.Out.WriteLine($"exported {result.Manifest.ModelId} ({result.Manifest.Precision}, {result.Manifest.KvCache} KV cache, {(result.Manifest.Steerable ? "steerable" : "plain")}) " +
                $"to {result.Folder}: {result.WeightBytes / 1e6:F1} MB of weights in {result.Elapsed.TotalSeconds:F1} s, peak memory {peak / 1e6:F0} MB");
            return 0;
        })));
        return command;
    }
}
