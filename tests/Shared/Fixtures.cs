namespace SeeSharp.Testing;

/// <summary>Locates the golden data copied from the reference runs into <c>tests/fixtures/</c>.</summary>
internal static class Fixtures
{
    private static readonly Lazy<string> s_root = new(FindRoot);

    /// <summary>Absolute path of <c>tests/fixtures</c>.</summary>
    public static string Root => s_root.Value;

    /// <summary>Absolute path of a file or folder under <c>tests/fixtures</c>.</summary>
    public static string Path(params string[] parts) => System.IO.Path.Combine([Root, .. parts]);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = System.IO.Path.Combine(dir.FullName, "tests", "fixtures");
            if (Directory.Exists(candidate)) return candidate;
        }
        throw new DirectoryNotFoundException($"tests/fixtures not found above {AppContext.BaseDirectory}");
    }
}
