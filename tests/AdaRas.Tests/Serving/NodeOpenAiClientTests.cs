using System.Text.Json.Nodes;
using AdaRas.Serving.ChatClient;
using AdaRas.Serving.Steering;
using AdaRas.Tests.Support;
using Microsoft.Extensions.AI;

namespace AdaRas.Tests.Serving;

/// <summary>
/// The official `openai` npm package (tools/openai-client, pinned and integrity-checked by npm ci) against a
/// running server on 127.0.0.1: chat plain/steered/streamed, completions with echo and logprobs, two concurrent
/// requests with different steering, and a refused request — each compared with the engine in-process.
/// </summary>
[TestFixture]
public sealed class NodeOpenAiClientTests
{
    const string Question = "How many apples are in twice the boxes?";

    [Test]
    public async Task NodeOpenAiPackage_ChatStreamCompletionsConcurrencyAndErrors()
    {
        await using var server = await TestServer.StartAsync();
        var folder = Path.Combine(RepositoryRoot.Find(), "tools", "openai-client");
        Run("bash", [Path.Combine(folder, "setup.sh")], folder, TimeSpan.FromMinutes(5));
        var output = JsonNode.Parse(Run("node", [Path.Combine(folder, "client.mjs"), server.BaseUrl + "/v1", TestServer.ApiKey, "tiny-model", Question],
            folder, TimeSpan.FromMinutes(2)))!;

        using var local = new AdaRasChatClient(server.Host);
        async Task<(string Reasoning, string Content)> InProcess(SteeringRequest? steering)
        {
            var options = new ChatOptions { MaxOutputTokens = 24 };
            if (steering is not null) options.WithSteering(steering);
            var r = await local.GetResponseAsync([new ChatMessage(ChatRole.User, Question)], options);
            return (string.Concat(r.Messages.SelectMany(m => m.Contents).OfType<TextReasoningContent>().Select(t => t.Text)), r.Text);
        }
        var plain = await InProcess(null);
        var steered = await InProcess(new SteeringRequest("tiny") { Neurons = 10, Alpha = 2 });
        var other = await InProcess(new SteeringRequest("tiny") { Neurons = 20, Alpha = -3, Positions = "all" });
        Assert.That(steered, Is.Not.EqualTo(plain), "control: steering changes the answer");

        Assert.That(((string)output["plain"]!["reasoning"]!, (string)output["plain"]!["content"]!), Is.EqualTo(plain));
        Assert.That(((string)output["steered"]!["reasoning"]!, (string)output["steered"]!["content"]!), Is.EqualTo(steered));
        Assert.That((bool)output["steered"]!["steering"]!["steered"]!, Is.True);
        Assert.That(((string)output["stream"]!["reasoning"]!, (string)output["stream"]!["content"]!), Is.EqualTo(steered));
        Assert.That((int)output["stream"]!["chunks"]!, Is.GreaterThan(3));
        Assert.That((int)output["stream"]!["usage"]!["completion_tokens"]!, Is.InRange(1, 24));
        Assert.That((bool)output["stream"]!["steering"]!["steered"]!, Is.True, "the last chunk reports the steering");
        Assert.That(((string)output["concurrent"]![0]!["reasoning"]!, (string)output["concurrent"]![0]!["content"]!), Is.EqualTo(steered));
        Assert.That(((string)output["concurrent"]![1]!["reasoning"]!, (string)output["concurrent"]![1]!["content"]!), Is.EqualTo(other));

        var ids = server.Model.Tokenizer.Encode(Question);
        var logprobs = output["completion"]!["logprobs"]!;
        Assert.That(logprobs["token_logprobs"]!.AsArray().Count, Is.EqualTo(ids.Length + 1));
        var scored = AdaRas.Engine.Scoring.Score(server.Model, ids);
        for (int t = 1; t < ids.Length; t++)
            Assert.That((double)logprobs["token_logprobs"]![t]!, Is.EqualTo(scored.LogProbs[t - 1]).Within(1e-4));

        var bad = output["badRequest"]!;
        Assert.That((int)bad["status"]!, Is.EqualTo(400));
        Assert.That((string)bad["param"]!, Is.EqualTo("steering.pattern"));
    }

    static string Run(string program, string[] args, string workingDirectory, TimeSpan timeout)
    {
        var (code, output, error) = ExternalProcess.Run(program, args, timeout, workingDirectory);
        Assert.That(code, Is.EqualTo(0), $"{program} {string.Join(' ', args)}: {error}");
        return output;
    }
}
