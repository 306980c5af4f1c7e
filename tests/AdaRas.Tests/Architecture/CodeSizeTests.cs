using AdaRas.Tests.Support;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace AdaRas.Tests.Architecture;

/// <summary>
/// Size rules from docs/ARCHITECTURE.md that keep the code readable: no method in src/ or export/ over
/// <see cref="MaxMethodLines"/> lines unless a comment right above it says why it is "long on purpose", and no
/// CLI command file over <see cref="MaxCommandFileLines"/> lines (a verb parses, calls, prints). Parsed with Roslyn.
/// </summary>
[TestFixture]
public sealed class CodeSizeTests
{
    internal const int MaxMethodLines = 60;
    internal const int MaxCommandFileLines = 80;

    // Kept by their owners, outside this check for now: the code sandbox's runner, the demo pipeline's stage list.
    static readonly string[] Skipped = [];
    static readonly (string File, string Method)[] SkippedMethods =
        [("PythonSandbox.cs", "RunIn"), ("PythonSandbox.cs", "ExecuteIn"), ("Demo/DemoPipeline.cs", "Run")];

    static IEnumerable<string> SourceFiles(params string[] folders)
    {
        var root = RepositoryRoot.Find();
        return folders.SelectMany(f => Directory.EnumerateFiles(Path.Combine(root, f), "*.cs", SearchOption.AllDirectories))
            .Select(p => Path.GetRelativePath(root, p).Replace('\\', '/'))
            .Where(p => !p.Contains("/obj/") && !p.Contains("/bin/") && !Skipped.Any(p.StartsWith))
            .Order();
    }

    /// <summary>Methods, constructors, operators, accessors and local functions longer than the limit, with no reason.</summary>
    internal static IEnumerable<string> LongMethods(string relativePath, string text, int limit = MaxMethodLines)
    {
        var root = CSharpSyntaxTree.ParseText(text).GetRoot();
        foreach (var node in root.DescendantNodes().Where(n => n is BaseMethodDeclarationSyntax or AccessorDeclarationSyntax or LocalFunctionStatementSyntax))
        {
            var span = node.GetLocation().GetLineSpan();
            int lines = span.EndLinePosition.Line - span.StartLinePosition.Line + 1;
            if (lines <= limit) continue;
            var name = Name(node);
            if (SkippedMethods.Any(s => relativePath.EndsWith(s.File) && s.Method == name)) continue;
            if (HasReason(node)) continue;
            yield return $"{relativePath}:{span.StartLinePosition.Line + 1}: {name} is {lines} lines";
        }
    }

    static string Name(SyntaxNode node) => node switch
    {
        MethodDeclarationSyntax m => m.Identifier.Text,
        ConstructorDeclarationSyntax c => c.Identifier.Text,
        LocalFunctionStatementSyntax l => l.Identifier.Text,
        AccessorDeclarationSyntax a => a.Keyword.Text,
        _ => node.Kind().ToString(),
    };

    /// <summary>A <c>//</c> comment just above the declaration (its leading trivia) saying why it is "long on purpose".</summary>
    static bool HasReason(SyntaxNode node) => node.GetLeadingTrivia()
        .Where(t => t.IsKind(SyntaxKind.SingleLineCommentTrivia))
        .Any(t => t.ToFullString().Contains("long on purpose", StringComparison.OrdinalIgnoreCase));

    [Test]
    public void NoMethodIsLongerThanTheLimitWithoutAReason()
    {
        var root = RepositoryRoot.Find();
        var files = SourceFiles("src", "export").ToList();
        Assert.That(files, Has.Count.GreaterThan(100), "the scan found the sources");
        var offenders = files.SelectMany(f => LongMethods(f, File.ReadAllText(Path.Combine(root, f)))).ToList();
        Assert.That(offenders, Is.Empty, string.Join("\n", offenders));
    }

    [Test]
    public void NoCommandFileIsLongerThanTheLimit()
    {
        var root = RepositoryRoot.Find();
        var files = SourceFiles("src/AdaRas.Cli/Commands").ToList();
        Assert.That(files, Has.Count.GreaterThan(20));
        var offenders = files.Select(f => (f, lines: File.ReadAllLines(Path.Combine(root, f)).Length))
            .Where(x => x.lines > MaxCommandFileLines).Select(x => $"{x.f}: {x.lines} lines").ToList();
        Assert.That(offenders, Is.Empty, string.Join("\n", offenders));
    }

    [Test]
    public void TheScanSeesLongMethodsAndTheirReasons()
    {
        string Method(string comment, int bodyLines) =>
            "class C {\n" + comment + "void M() {\n" + string.Concat(Enumerable.Repeat("    Work();\n", bodyLines)) + "}\n}\n";
        Assert.That(LongMethods("x.cs", Method("", 58)), Is.Empty, "60 lines is within the limit");
        Assert.That(LongMethods("x.cs", Method("", 59)).Single(), Does.Contain("x.cs:2: M is 61 lines"));
        Assert.That(LongMethods("x.cs", Method("// Long on purpose: one table of cases, clearer in one place.\n", 80)), Is.Empty);
        Assert.That(LongMethods("x.cs", Method("// long lines below\n", 80)), Is.Not.Empty, "only a reason counts");
        var accessor = "class C { int P { get {\n" + string.Concat(Enumerable.Repeat("Work();\n", 70)) + "return 1; } } }";
        Assert.That(LongMethods("x.cs", accessor), Is.Not.Empty, "accessor bodies count too");
    }
}
