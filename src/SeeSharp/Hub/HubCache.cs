using System.Text.RegularExpressions;

namespace SeeSharp.Hub;

/// <summary>
/// One model repo in the huggingface_hub cache layout:
/// <code>
/// {cache}/models--org--name/blobs/{etag}                 file content, named by the Hub's ETag
///                          /snapshots/{commit}/{path}      relative symlink to ../../blobs/{etag} (a copy where links fail)
///                          /refs/{revision}                text file holding the commit hash
///                          /.no_exist/{commit}/{path}      empty marker: the file does not exist at that commit
/// {cache}/.locks/models--org--name/{etag}.lock            held while a blob is downloaded
/// </code>
/// Callers validate repo id, revision and file names (<see cref="RepoId"/>) before any method here is used.
/// </summary>
internal sealed partial class HubCache
{
    public HubCache(string cacheDir, string repoId, bool useSymlinks = true)
    {
        UseSymlinks = useSymlinks;
        CacheDir = Path.GetFullPath(cacheDir);
        RepoId = repoId;
        RepoDir = Path.Combine(CacheDir, SeeSharp.Hub.RepoId.FolderName(repoId));
    }

    public string CacheDir { get; }
    /// <summary>False: behave as on a file system without symlinks (tests of the fallback).</summary>
    public bool UseSymlinks { get; }
    public string RepoId { get; }
    public string RepoDir { get; }

    // An ETag or commit hash names a file: one safe segment only, whatever the server sent.
    [GeneratedRegex("^[A-Za-z0-9_.\\-]{1,128}$")]
    private static partial Regex SafeNameRegex();

    /// <summary>Throws unless a server-provided <paramref name="value"/> (ETag, commit) can name a file.</summary>
    public static void ValidateServerName(string value, string what, string url)
    {
        if (!SafeNameRegex().IsMatch(value) || value == "." || value == "..")
            throw new HubException($"The Hub answered {url} with an unusable {what} '{value}': expected letters, digits, '.', '-' or '_'.");
    }

    public string BlobPath(string etag) => Path.Combine(RepoDir, "blobs", etag);
    public string SnapshotDir(string commit) => Path.Combine(RepoDir, "snapshots", commit);
    public string PointerPath(string commit, string file) => Path.Combine(SnapshotDir(commit), ToNative(file));
    public string NoExistPath(string commit, string file) => Path.Combine(RepoDir, ".no_exist", commit, ToNative(file));
    public string RefPath(string revision) => Path.Combine(RepoDir, "refs", ToNative(revision));
    public string LockPath(string etag) =>
        Path.Combine(CacheDir, ".locks", SeeSharp.Hub.RepoId.FolderName(RepoId), etag + ".lock");

    private static string ToNative(string relative) => relative.Replace('/', Path.DirectorySeparatorChar);

    /// <summary>True when the snapshot file exists and (for a link) its blob is there.</summary>
    public bool HasFile(string commit, string file) => File.Exists(PointerPath(commit, file));

    public bool IsKnownMissing(string commit, string file) => File.Exists(NoExistPath(commit, file));

    /// <summary>Commit of <paramref name="revision"/>: itself when it is a commit hash, else the content of refs/.</summary>
    public string? ResolveCommit(string revision)
    {
        if (SeeSharp.Hub.RepoId.IsCommitHash(revision)) return revision;
        string path = RefPath(revision);
        if (!File.Exists(path)) return null;
        string commit = File.ReadAllText(path).Trim();
        return SafeNameRegex().IsMatch(commit) && commit is not "." and not ".." ? commit : null;
    }

    /// <summary>Writes refs/{revision} (atomically) when it differs from <paramref name="commit"/>.</summary>
    public void WriteRef(string revision, string commit)
    {
        if (revision == commit) return;
        string path = RefPath(revision);
        if (File.Exists(path) && File.ReadAllText(path).Trim() == commit) return;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        string tmp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        File.WriteAllText(tmp, commit);
        File.Move(tmp, path, overwrite: true);
    }

    public void MarkMissing(string commit, string file)
    {
        string path = NoExistPath(commit, file);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        if (!File.Exists(path)) File.WriteAllBytes(path, []);
    }

    /// <summary>
    /// Makes snapshots/{commit}/{file} point at the blob with a relative symlink (huggingface_hub's
    /// <c>_create_symlink</c>). Where links cannot be made, the blob is moved there when it was just downloaded
    /// (<paramref name="newBlob"/>) and copied otherwise, as huggingface_hub does.
    /// </summary>
    public void LinkPointer(string blobPath, string pointerPath, bool newBlob)
    {
        string dir = Path.GetDirectoryName(pointerPath)!;
        Directory.CreateDirectory(dir);
        string relative = Path.GetRelativePath(dir, blobPath);
        try
        {
            if (File.Exists(pointerPath) || new FileInfo(pointerPath).LinkTarget is not null) File.Delete(pointerPath);
            if (!UseSymlinks) throw new PlatformNotSupportedException("symlinks disabled");
            File.CreateSymbolicLink(pointerPath, relative);
            return;
        }
        catch (IOException) when (File.Exists(pointerPath))
        {
            return;  // another process or task linked it at the same moment
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or PlatformNotSupportedException)
        {
            // No symlinks here (e.g. Windows without developer mode): fall through to a real file.
        }
        try
        {
            if (newBlob) File.Move(blobPath, pointerPath, overwrite: true);
            else File.Copy(blobPath, pointerPath, overwrite: true);
        }
        catch (FileNotFoundException) when (File.Exists(pointerPath))
        {
            // A concurrent download of the same blob moved it into this very snapshot first.
        }
    }
}
