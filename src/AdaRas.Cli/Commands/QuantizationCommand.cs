using System.CommandLine;
using AdaRas.Evaluation.Quantization;
using AdaRas.Export;

namespace AdaRas.Cli.Commands;

/// <summary>`adaras quantization`: how far int8/int4 exports of a checkpoint drift from its fp32 export on real text.</summary>
static class QuantizationCommand
{
    public static Command Create(CliConsole console)
    {
        var model = new Option<string>("--model", "-m")
        {
            Description = "Hugging Face Qwen3 checkpoint (default: the embedded demo model); each precision is exported from it",
            DefaultValueFactory = _ => ModelOption.DefaultModelFolder,
        };
        var precisions = new Option<string>("--precisions") { Description = "comma-separated precisions to compare with fp32", DefaultValueFactory = _ => "int8,int4" };
        var kvCache = new Option<string>("--kv-cache")
        {
            Description = "KV cache of the compared exports: model (their own) or fp16 (with --precisions fp32: what a float16 cache alone costs)",
            DefaultValueFactory = _ => "model",
        };
        kvCache.AcceptOnlyFromAmong("model", "fp16");
        var accuracy = new Option<string?>("--accuracy-level") { Description = $"MatMulNBits accuracy levels (default {AccuracyLevels.Default})" };
        var data = new Option<string?>("--data")
        {
            Description = "JSONL with \"question\" (and optionally \"completion\") per row; default: the demo model's greedy test outputs",
        };
        var limit = new Option<int>("--limit") { Description = "texts to use", DefaultValueFactory = _ => 50 };
        var greedy = new Option<int>("--greedy-tokens") { Description = "tokens generated per text for greedy agreement", DefaultValueFactory = _ => 32 };
        var command = new Command("quantization", "Mean KL, top-1 and greedy agreement of int8/int4 exports (or a float16 KV cache) against fp32 on real text")
        {
            model, precisions, kvCache, accuracy, data, limit, greedy,
        };
        command.SetAction((parse, cancellation) => Task.FromResult(CommandRunner.Run(console, () =>
        {
            string checkpoint = parse.GetValue(model)!;
            if (!ModelResolver.IsCheckpoint(Path.GetFullPath(checkpoint)))
                throw new AdaRas.Files.UsageException($"{checkpoint}: --model must be a Hugging Face checkpoint (each precision is exported from it)");
            var levels = parse.GetValue(accuracy) is string spec ? AccuracyLevels.Parse(spec) : AccuracyLevels.Default;
            string dataPath = parse.GetValue(data) ?? Path.Combine(ModelOption.DefaultModelFolder, "greedy_results.jsonl");
            var kinds = parse.GetValue(precisions)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(p => Enum.TryParse<ExportPrecision>(p, ignoreCase: true, out var e) && Enum.IsDefined(e)
                    ? e : throw new AdaRas.Files.UsageException($"--precisions: '{p}' is not fp32, fp16, int8 or int4")).ToArray();
            var kv = Enum.Parse<KvCachePrecision>(parse.GetValue(kvCache)!, ignoreCase: true);

            using var reference = AdaRas.Engine.LanguageModel.Load(ModelResolver.Resolve(checkpoint));
            var texts = QualityTexts.Load(dataPath, reference.Tokenizer, parse.GetValue(limit));
            console.Out.WriteLine($"| precision | mean KL (nats) | max KL | top-1 agreement | greedy agreement |");
            console.Out.WriteLine($"|---|---:|---:|---:|---:|");
            foreach (var precision in kinds)
            {
                string name = precision.ToString().ToLowerInvariant() + (kv == KvCachePrecision.Fp16 ? ", fp16 KV cache" : "");
                console.Error.WriteLine($"exporting and comparing {name} ({levels})...");
                var folder = ModelResolver.Resolve(checkpoint, new ExportOptions { Precision = precision, KvCache = kv, AccuracyLevels = levels });
                using var candidate = AdaRas.Engine.LanguageModel.Load(folder);
                var q = QuantizationQuality.Measure(reference, candidate, texts, parse.GetValue(greedy), "fp32", name, cancellation);
                console.Out.WriteLine($"| {q.Candidate} | {q.MeanKl:G3} | {q.MaxKl:G3} | {100 * q.Top1Agreement:F1}% | {100 * q.GreedyAgreement:F1}% |");
                console.Error.WriteLine(q.Summary);
            }
            return 0;
        })));
        return command;
    }
}
