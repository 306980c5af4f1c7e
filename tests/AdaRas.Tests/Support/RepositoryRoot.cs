namespace AdaRas.Tests.Support;

/// <summary>The repository root, found by walking up from the test binaries to AdaRas.sln.</summary>
public static class RepositoryRoot
{
    public static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "AdaRas.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException($"no AdaRas.sln above {AppContext.BaseDirectory}");
    }
}
