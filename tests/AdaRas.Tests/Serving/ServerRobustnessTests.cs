using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using AdaRas.Serving;

namespace AdaRas.Tests.Serving;

/// <summary>
/// Hostile and broken requests against a running server: each gets a 4xx with an OpenAI-shaped error, and the
/// server keeps serving. Also the limits, a client that disconnects mid-stream, and the 429 of a full queue.
/// </summary>
[TestFixture]
public sealed class ServerRobustnessTests
{
    TestServer _server = null!;

    [OneTimeSetUp]
    public async Task Start() => _server = await TestServer.StartAsync(new ServingLimits
    {
        MaxPromptTokens = 64, MaxTokens = 200, MaxConcurrentRequests = 2, MaxBodyBytes = 64 * 1024,
    });

    [OneTimeTearDown]
    public async Task Stop() => await _server.DisposeAsync();

    static string Chat(string extra = "", string content = "hi") =>
        $$"""{"model":"tiny-model","messages":[{"role":"user","content":"{{content}}"}],"max_tokens":4{{extra}}}""";

    async Task<(int Status, JsonNode? Error)> Send(string path, string body, string? key = TestServer.ApiKey, HttpMethod? method = null)
    {
        using var request = new HttpRequestMessage(method ?? HttpMethod.Post, path);
        if (method != HttpMethod.Get) request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        if (key is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var client = new HttpClient { BaseAddress = new Uri(_server.BaseUrl) };
        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, JsonNode.Parse(text));
    }

    static IEnumerable<TestCaseData> BadRequests()
    {
        yield return new TestCaseData("/v1/chat/completions", """{"model":"tiny-model","messages":[{"role":"user","content":"hi"}""", 400, null).SetName("malformed JSON");
        yield return new TestCaseData("/v1/chat/completions", "[1,2]", 400, null).SetName("body not an object");
        yield return new TestCaseData("/v1/chat/completions", Chat(""","steering":{"pattern":"nope"}"""), 400, "steering.pattern").SetName("unknown pattern");
        yield return new TestCaseData("/v1/chat/completions", Chat(""","steering":{"pattern":"tiny","alpha":NaN}"""), 400, null).SetName("alpha NaN literal");
        yield return new TestCaseData("/v1/chat/completions", Chat(""","steering":{"pattern":"tiny","alpha":"NaN"}"""), 400, "steering.alpha").SetName("alpha NaN string");
        yield return new TestCaseData("/v1/chat/completions", Chat(""","steering":{"pattern":"tiny","alpha":1e400}"""), 400, "steering.alpha").SetName("alpha infinite");
        yield return new TestCaseData("/v1/chat/completions", Chat(""","steering":{"pattern":"tiny","neurons":0}"""), 400, "steering.neurons").SetName("zero neurons");
        yield return new TestCaseData("/v1/chat/completions", Chat(""","steering":{"pattern":"tiny","neurons":10,"method":"linear_blend"}"""), 400, "steering.method").SetName("method needing class means");
        yield return new TestCaseData("/v1/chat/completions", Chat(""","steering":{"pattern":"tiny","gate":1.5}"""), 400, "steering.gate").SetName("gate threshold out of range");
        yield return new TestCaseData("/v1/chat/completions", Chat(""","steering":{"pattern":"tiny","layers":3}"""), 400, "steering.layers").SetName("unknown steering field");
        yield return new TestCaseData("/v1/chat/completions", Chat().Replace("\"max_tokens\":4", "\"max_tokens\":-1"), 400, "max_tokens").SetName("negative max_tokens");
        yield return new TestCaseData("/v1/chat/completions", Chat().Replace("\"max_tokens\":4", "\"max_tokens\":201"), 400, "max_tokens").SetName("max_tokens over the limit");
        yield return new TestCaseData("/v1/chat/completions", Chat(content: string.Concat(Enumerable.Repeat("apples ", 100))), 400, "messages").SetName("prompt over the limit");
        yield return new TestCaseData("/v1/chat/completions", Chat(""","temperature":-1"""), 400, "temperature").SetName("negative temperature");
        yield return new TestCaseData("/v1/chat/completions", Chat(""","n":3"""), 400, "n").SetName("n above 1");
        yield return new TestCaseData("/v1/chat/completions", """{"messages":[{"role":"tool","content":"x"}]}""", 400, "messages[0].role").SetName("unsupported role");
        yield return new TestCaseData("/v1/chat/completions", """{"messages":"hi"}""", 400, "messages").SetName("messages not an array");
        yield return new TestCaseData("/v1/chat/completions", """{"model":"gpt-4","messages":[{"role":"user","content":"hi"}]}""", 404, "model").SetName("unknown model");
        yield return new TestCaseData("/v1/completions", """{"prompt":[1,2,999999]}""", 400, "prompt").SetName("token id outside the vocabulary");
        yield return new TestCaseData("/v1/completions", """{"prompt":"hi","logprobs":50}""", 400, "logprobs").SetName("too many logprobs");
        yield return new TestCaseData("/v1/completions", """{"prompt":[]}""", 400, "prompt").SetName("empty prompt list");
        yield return new TestCaseData("/v1/completions", """{"max_tokens":3}""", 400, "prompt").SetName("no prompt");
        yield return new TestCaseData("/v1/nothing", "{}", 404, null).SetName("unknown route");
    }

    [TestCaseSource(nameof(BadRequests))]
    public async Task BadRequest_GetsA4xxWithAnOpenAiShapedError(string path, string body, int status, string? param)
    {
        var (code, error) = await Send(path, body);
        AssertOpenAiError(code, error, status, param);
        var (ok, _) = await Send("/v1/chat/completions", Chat());
        Assert.That(ok, Is.EqualTo(200), "the server still answers");
    }

    static void AssertOpenAiError(int code, JsonNode? body, int status, string? param)
    {
        Assert.That(code, Is.EqualTo(status), body?.ToJsonString());
        var error = body!["error"]!;
        Assert.That((string)error["message"]!, Is.Not.Empty);
        Assert.That((string)error["type"]!, Is.EqualTo(status == 429 ? "rate_limit_error" : "invalid_request_error"));
        Assert.That(error.AsObject().ContainsKey("param") && error.AsObject().ContainsKey("code"), "OpenAI's four fields");
        if (param is not null) Assert.That((string?)error["param"], Is.EqualTo(param));
    }

    [Test]
    public async Task WrongOrMissingApiKey_Is401_HealthStaysOpen()
    {
        var (wrong, e1) = await Send("/v1/chat/completions", Chat(), key: "not-the-key");
        AssertOpenAiError(wrong, e1, 401, null);
        Assert.That((string?)e1!["error"]!["code"], Is.EqualTo("invalid_api_key"));
        var (missing, e2) = await Send("/v1/models", "", key: null, method: HttpMethod.Get);
        AssertOpenAiError(missing, e2, 401, null);
        var (prefix, e3) = await Send("/v1/chat/completions", Chat(), key: TestServer.ApiKey + "x");
        AssertOpenAiError(prefix, e3, 401, null);
        var (health, _) = await Send("/health", "", key: null, method: HttpMethod.Get);
        Assert.That(health, Is.EqualTo(200));
    }

    [TestCase(true, TestName = "10 MB body with Content-Length is 413")]
    [TestCase(false, TestName = "10 MB chunked body is 413 while reading")]
    public async Task TenMegabyteBody_Is413(bool withLength)
    {
        var (status, body) = await RawPost(Encoding.UTF8.GetBytes(Chat(content: new string('a', 10 * 1024 * 1024))), withLength);
        Assert.That(status, Is.EqualTo(413), body);
        var error = JsonNode.Parse(body)!["error"]!;
        Assert.That((string?)error["code"], Is.EqualTo("request_too_large"));
        Assert.That((string?)error["type"], Is.EqualTo("invalid_request_error"));
        var (ok, _) = await Send("/v1/chat/completions", Chat());
        Assert.That(ok, Is.EqualTo(200), "the server still answers");
    }

    /// <summary>
    /// POSTs over a raw socket, writing the body in the background (a server that refuses early may close
    /// before it is all sent, which an HttpClient reports as a broken pipe instead of the answer).
    /// </summary>
    async Task<(int Status, string Body)> RawPost(byte[] body, bool withLength)
    {
        var uri = new Uri(_server.BaseUrl);
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(uri.Host, uri.Port);
        var stream = tcp.GetStream();
        var head = $"POST /v1/chat/completions HTTP/1.1\r\nHost: {uri.Authority}\r\nAuthorization: Bearer {TestServer.ApiKey}\r\n" +
                   "Content-Type: application/json\r\nConnection: close\r\n" +
                   (withLength ? $"Content-Length: {body.Length}\r\n\r\n" : "Transfer-Encoding: chunked\r\n\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
        var writer = Task.Run(async () =>
        {
            try
            {
                for (int at = 0; at < body.Length; at += 65536)
                {
                    int n = Math.Min(65536, body.Length - at);
                    if (!withLength) await stream.WriteAsync(Encoding.ASCII.GetBytes($"{n:X}\r\n"));
                    await stream.WriteAsync(body.AsMemory(at, n));
                    if (!withLength) await stream.WriteAsync("\r\n"u8.ToArray());
                }
                if (!withLength) await stream.WriteAsync("0\r\n\r\n"u8.ToArray());
            }
            catch (IOException) { } // the server answered and closed: expected
            catch (ObjectDisposedException) { }
        });
        var response = new MemoryStream();
        var buffer = new byte[8192];
        int read;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            while ((read = await stream.ReadAsync(buffer, timeout.Token)) > 0) response.Write(buffer, 0, read);
        }
        catch (IOException) { } // reset after the answer
        var text = Encoding.UTF8.GetString(response.ToArray());
        Assert.That(text, Does.StartWith("HTTP/1.1 "), "an HTTP answer came back");
        int status = int.Parse(text.AsSpan(9, 3));
        int split = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var payload = text[(split + 4)..];
        if (text[..split].Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase))
            payload = string.Concat(payload.Split("\r\n").Where((_, i) => i % 2 == 1));
        return (status, payload);
    }

    [Test]
    public async Task WrongMethod_Is405()
    {
        var (code, error) = await Send("/v1/chat/completions", "", method: HttpMethod.Get);
        AssertOpenAiError(code, error, 405, null);
    }

    [Test]
    public async Task ClientDisconnectMidStream_CancelsTheGeneration()
    {
        int generated = 0;
        long cancelledBefore = _server.Host.Runner.Cancelled;
        _server.Host.Runner.AfterToken = n => { generated = n; Thread.Sleep(3); }; // 150 tokens would take 0.45 s
        try
        {
            // No draining of an unread response: disposing it closes the connection, as a client that goes away does.
            using var client = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { BaseAddress = new Uri(_server.BaseUrl) };
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
            {
                Content = new StringContent(Chat(""","stream":true,"stop":["never-in-tiny-output"]""").Replace("\"max_tokens\":4", "\"max_tokens\":150"), Encoding.UTF8, "application/json"),
            };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", TestServer.ApiKey);
            var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            Assert.That(response.Content.Headers.ContentType!.MediaType, Is.EqualTo("text/event-stream"));
            var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            Assert.That(await reader.ReadLineAsync(), Does.StartWith("data: {"));
            response.Dispose(); // the client goes away after the first event
            client.Dispose();

            var health = await _server.IdleHealthAsync();
            Assert.That((int)health["in_flight"]!, Is.EqualTo(0));
            Assert.That((int)health["live_generators"]!, Is.EqualTo(0));
            Assert.That(_server.Host.Runner.Cancelled, Is.EqualTo(cancelledBefore + 1), $"the generation was cancelled, not finished (it made {generated} tokens)");
            Assert.That(generated, Is.LessThan(100));
        }
        finally
        {
            _server.Host.Runner.AfterToken = null;
        }
    }

    [Test]
    public async Task BeyondTheConcurrencyLimit_Is429_AndTheOthersFinish()
    {
        var release = new ManualResetEventSlim();
        _server.Host.Runner.AfterToken = _ => release.Wait(TimeSpan.FromSeconds(20));
        try
        {
            var body = Chat(""","stop":["never-in-tiny-output"]""");
            var first = Send("/v1/chat/completions", body);   // runs, held at its first token
            var second = Send("/v1/chat/completions", body);  // waits its turn
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (_server.Host.Runner.InFlight < 2 && DateTime.UtcNow < deadline) await Task.Delay(10);
            var (code, error) = await Send("/v1/chat/completions", body);
            AssertOpenAiError(code, error, 429, null);
            release.Set();
            Assert.That((await first).Status, Is.EqualTo(200));
            Assert.That((await second).Status, Is.EqualTo(200));
        }
        finally
        {
            release.Set();
            _server.Host.Runner.AfterToken = null;
        }
    }
}
