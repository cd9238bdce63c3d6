// Compares: the safetensors reader against (a) the writer (round trip, exact bytes), (b) hand-crafted malformed
// files (each must fail with a SafetensorsException naming the file and the fault), (c) the fixture files, whose
// expected sums and first values were read with an independent Python struct/json parser. Exact comparisons
// (integers, and float sums in double of at most ~1e5 values checked to 1e-9 relative).
using System.Text;
using SeeSharp.Engine;
using SeeSharp.Engine.Safetensors;
using SeeSharp.Testing;

namespace SeeSharp.Engine.Tests;

public sealed unsafe class SafetensorsTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "seesharp-st-" + Guid.NewGuid().ToString("N"));

    public SafetensorsTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private string P(string name) => Path.Combine(_dir, name);

    // ---- crafting ----------------------------------------------------------------------------------------------

    private static byte[] Craft(string headerJson, int dataBytes, ulong? lyingLength = null)
    {
        var h = Encoding.UTF8.GetBytes(headerJson);
        var bytes = new byte[8 + h.Length + dataBytes];
        BitConverter.TryWriteBytes(bytes.AsSpan(0, 8), lyingLength ?? (ulong)h.Length);
        h.CopyTo(bytes, 8);
        return bytes;
    }

    private SafetensorsException Bad(byte[] bytes, params string[] expectedFragments)
    {
        string path = P($"bad-{Guid.NewGuid():N}.safetensors");
        File.WriteAllBytes(path, bytes);
        var ex = Assert.Throws<SafetensorsException>(() => SafetensorsFile.Open(path).Dispose());
        Assert.Contains(path, ex.Message);
        foreach (var f in expectedFragments) Assert.Contains(f, ex.Message);
        return ex;
    }

    private const string Ok = """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""";

    [Fact]
    public void WellFormedCraftedFileOpens()
    {
        string path = P("ok.safetensors");
        var bytes = Craft(Ok, 8);
        BitConverter.TryWriteBytes(bytes.AsSpan(bytes.Length - 8, 4), 1.5f);
        File.WriteAllBytes(path, bytes);
        using var f = SafetensorsFile.Open(path);
        Assert.Equal([1.5f, 0f], f.Get("a").ToFloatArray());
    }

    [Fact] public void EmptyFile() => Bad([], "truncated");
    [Fact] public void ShorterThanLengthField() => Bad([1, 0, 0], "truncated");
    [Fact] public void HeaderLongerThanFile() => Bad(Craft(Ok, 8, lyingLength: 10_000), "truncated", "10000");
    [Fact] public void AbsurdHeaderLength() => Bad(Craft(Ok, 8, lyingLength: ulong.MaxValue - 3), "limit");
    [Fact] public void HeaderOf200MbRefused() => Bad(Craft(Ok, 8, lyingLength: 200_000_000), "limit");
    [Fact] public void NotJson() => Bad(Craft("{not json at all}", 0), "not valid JSON");
    [Fact] public void NotAnObject() => Bad(Craft("[1,2,3]", 0), "not a JSON object");
    [Fact] public void UnknownDtype() => Bad(Craft("""{"a":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}}""", 2), "\"a\"", "F8_E4M3");
    [Fact] public void NegativeShape() => Bad(Craft("""{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}""", 8), "shape[0]", "-2");
    [Fact] public void FractionalShape() => Bad(Craft("""{"a":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}}""", 8), "shape[0]");
    [Fact] public void OverflowingShape() => Bad(Craft("""{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}""", 8), "overflows");
    [Fact] public void EndBeforeBegin() => Bad(Craft("""{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}""", 8), "end 0 < begin 8");
    [Fact] public void OffsetsOutOfBounds() => Bad(Craft("""{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}""", 8), "out of bounds");
    [Fact] public void NegativeOffsets() => Bad(Craft("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}}""", 8), "non-negative");
    [Fact] public void ByteLengthMismatch() => Bad(Craft("""{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""", 16), "needs 12 bytes");
    [Fact] public void HugeShapeWithSmallOffsetsIsMismatch() => Bad(Craft("""{"a":{"dtype":"F64","shape":[1152921504606846976,4],"data_offsets":[0,8]}}""", 8), "\"a\"");
    [Fact] public void OverlappingTensors() => Bad(Craft("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", 12), "overlap", "\"a\"", "\"b\"");
    [Fact] public void DuplicateNames() => Bad(Craft("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 8), "duplicate tensor name \"a\"");
    [Fact] public void MissingField() => Bad(Craft("""{"a":{"dtype":"F32","shape":[2]}}""", 8), "data_offsets");
    [Fact] public void MetadataNotStrings() => Bad(Craft("""{"__metadata__":{"k":1}}""", 0), "__metadata__");

    [Fact]
    public void TruncatedDataSection()
    {
        var bytes = Craft("""{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}""", 16);
        Bad(bytes[..^1], "out of bounds");
    }

    [Fact]
    public void MissingFileIsFileNotFound() =>
        Assert.Throws<FileNotFoundException>(() => SafetensorsFile.Open(P("nope.safetensors")));

    // ---- round trip --------------------------------------------------------------------------------------------

    [Fact]
    public void RoundTripEveryDtype()
    {
        var tensors = new Dictionary<string, Tensor>
        {
            ["bool"] = Tensor.FromArray(new[] { true, false, true }, 3),
            ["u8"] = Tensor.FromArray(new byte[] { 0, 7, 255 }, 3),
            ["i8"] = Tensor.FromArray(new sbyte[] { -128, 0, 127 }, 3),
            ["i16"] = Tensor.FromArray(new short[] { -32768, 1, 32767 }, 3),
            ["i32"] = Tensor.FromArray(new[] { int.MinValue, 5, int.MaxValue, 0 }, 2, 2),
            ["i64"] = Tensor.FromArray(new[] { long.MinValue, -1L, long.MaxValue }, 3, 1),
            ["f16"] = Tensor.FromArray(new[] { (Half)1.5, (Half)(-2), Half.MaxValue }, 3),
            ["bf16"] = Tensor.FromArray(DType.BF16, new ushort[] { DTypes.SingleToBF16(1.5f), DTypes.SingleToBF16(-3.25f) }, 2),
            ["f32"] = Tensor.FromArray(new[] { 1f, -2.5f, float.Epsilon, 3e38f, 0f, -0f }, 2, 3),
            ["f64"] = Tensor.FromArray(new[] { Math.PI, -1e300 }, 2),
            ["empty"] = Tensor.Allocate(DType.F32, 0, 4),
            ["scalar"] = Tensor.FromArray(new[] { 42f }),
        };
        var meta = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "ünïcode" };
        string path = P("rt.safetensors");
        SafetensorsWriter.Write(path, tensors, meta);

        long len = new FileInfo(path).Length;
        var head = File.ReadAllBytes(path);
        ulong n = BitConverter.ToUInt64(head, 0);
        Assert.Equal(0UL, n % 8);                                        // padded like the Rust crate
        Assert.Equal((byte)' ', head[8 + (int)n - 1]);
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));                // nothing half written left behind

        using var f = SafetensorsFile.Open(path);
        Assert.Equal(meta, f.Metadata.OrderBy(kv => kv.Key).ToDictionary());
        Assert.Equal(tensors.Keys.Order(), f.Names.Order());
        foreach (var (name, t) in tensors)
        {
            var r = f.Get(name);
            Assert.Equal(t.DType, r.DType);
            Assert.Equal(t.Shape, r.Shape);
            Assert.Equal(t.AsBytes().ToArray(), r.AsBytes().ToArray());
            Assert.Equal(0, (r.Pointer - f.Get(name).Storage.Pointer - f.DataStart) % DTypes.SizeOf(r.DType)); // element-aligned
        }
        Assert.Equal([1.5f, -3.25f], f.Get("bf16").ToFloatArray());
        Assert.Equal([1.5f, -2f, 65504f], f.Get("f16").ToFloatArray());
        Assert.Equal([long.MinValue, -1L, long.MaxValue], f.Get("i64").ToInt64Array());
        Assert.Equal([1L, 0L, 1L], f.Get("bool").ToInt64Array());
        Assert.Equal([-128L, 0L, 127L], f.Get("i8").ToInt64Array());
        Assert.Equal([42f], f.Get("scalar").ToFloatArray());
        Assert.Empty(f.Get("scalar").Shape);
        Assert.Throws<InvalidOperationException>(() => f.Get("f32").ToInt64Array());
        Assert.True(len > 8);
    }

    [Fact]
    public void WriterOverwritesAtomicallyAndRejectsDuplicates()
    {
        string path = P("w.safetensors");
        SafetensorsWriter.Write(path, [new("x", Tensor.FromArray(new[] { 1f }, 1))]);
        SafetensorsWriter.Write(path, [new("y", Tensor.FromArray(new[] { 2f, 3f }, 2))]);
        using (var f = SafetensorsFile.Open(path)) Assert.Equal(["y"], f.Names);
        var t = Tensor.FromArray(new[] { 1f }, 1);
        Assert.Throws<ArgumentException>(() => SafetensorsWriter.Write(P("d.safetensors"), [new("a", t), new("a", t)]));
        Assert.False(File.Exists(P("d.safetensors")));
    }

    [Fact]
    public void GetUnknownNameNamesFileAndTensor()
    {
        string path = P("k.safetensors");
        SafetensorsWriter.Write(path, [new("x", Tensor.FromArray(new[] { 1f }, 1))]);
        using var f = SafetensorsFile.Open(path);
        var ex = Assert.Throws<KeyNotFoundException>(() => f.Get("missing.weight"));
        Assert.Contains(path, ex.Message);
        Assert.Contains("missing.weight", ex.Message);
    }

    // ---- sharded -----------------------------------------------------------------------------------------------

    private string MakeSharded(string weightMapJson)
    {
        string dir = Path.Combine(_dir, "sharded-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        SafetensorsWriter.Write(Path.Combine(dir, "model-00001-of-00002.safetensors"),
            [new("a", Tensor.FromArray(new[] { 1f, 2f }, 2)), new("b", Tensor.FromArray(new[] { 3L }, 1))]);
        SafetensorsWriter.Write(Path.Combine(dir, "model-00002-of-00002.safetensors"),
            [new("c", Tensor.FromArray(new[] { 4f }, 1, 1))]);
        File.WriteAllText(Path.Combine(dir, "model.safetensors.index.json"),
            "{\"metadata\": {\"total_size\": 20}, \"weight_map\": " + weightMapJson + "}");
        return dir;
    }

    private const string GoodMap = """{"a": "model-00001-of-00002.safetensors", "b": "model-00001-of-00002.safetensors", "c": "model-00002-of-00002.safetensors"}""";

    [Fact]
    public void ShardedCheckpointOpens()
    {
        using var ck = SafetensorsCheckpoint.Open(MakeSharded(GoodMap));
        Assert.Equal(["a", "b", "c"], ck.Names.Order());
        Assert.Equal([1f, 2f], ck.Get("a").ToFloatArray());
        Assert.Equal([3L], ck.Get("b").ToInt64Array());
        Assert.Equal([4f], ck.Get("c").ToFloatArray());
        Assert.Equal(2, ck.Files.Count);
        Assert.Throws<KeyNotFoundException>(() => ck.Get("d"));
    }

    private void BadIndex(string map, params string[] fragments)
    {
        string dir = MakeSharded(map);
        var ex = Assert.Throws<SafetensorsException>(() => SafetensorsCheckpoint.Open(dir).Dispose());
        Assert.Contains("model.safetensors.index.json", ex.Message);
        foreach (var f in fragments) Assert.Contains(f, ex.Message);
    }

    [Fact] public void ShardMissingTensor() => BadIndex("""{"a": "model-00002-of-00002.safetensors"}""", "\"a\"", "does not contain");
    [Fact] public void ShardFileMissing() => BadIndex("""{"a": "model-00003-of-00002.safetensors"}""", "model-00003-of-00002.safetensors", "does not exist");
    [Fact] public void ShardPathTraversal() => BadIndex("""{"a": "../model-00001-of-00002.safetensors"}""", "..", "plain file name");
    [Fact] public void ShardAbsolutePath() => BadIndex("""{"a": "/etc/passwd"}""", "/etc/passwd", "plain file name");
    [Fact] public void ShardSubdirectory() => BadIndex("""{"a": "sub/x.safetensors"}""", "plain file name");
    [Fact] public void IndexDuplicateTensor() => BadIndex("""{"a": "model-00001-of-00002.safetensors", "a": "model-00001-of-00002.safetensors"}""", "twice");
    [Fact] public void IndexWithoutWeightMap() => BadIndex("""[]""");

    [Fact]
    public void CheckpointOfSingleFileAndFolder()
    {
        string folder = Fixtures.Path("idefics2-tiny", "model");
        using var a = SafetensorsCheckpoint.Open(folder);
        using var b = SafetensorsCheckpoint.Open(Path.Combine(folder, "model.safetensors"));
        Assert.Equal(83, a.Names.Count);
        Assert.Equal(a.Names.Order(), b.Names.Order());
        Assert.Throws<FileNotFoundException>(() => SafetensorsCheckpoint.Open(_dir));
    }

    // ---- fixtures ----------------------------------------------------------------------------------------------

    private static double Sum(Tensor t) => t.ToFloatArray().Sum(x => (double)x);

    [Fact]
    public void ReadsTinyModel()
    {
        using var f = SafetensorsFile.Open(Fixtures.Path("idefics2-tiny", "model", "model.safetensors"));
        Assert.Equal(83, f.Names.Count);
        Assert.Equal("pt", f.Metadata["format"]);
        var lm = f.Get("lm_head.weight");
        Assert.Equal(DType.F32, lm.DType);
        Assert.Equal([451L, 64L], lm.Shape);
        Assert.Equal([0.260658323764801f, -0.15462912619113922f, -0.420232892036438f], lm.AsSpan<float>()[..3].ToArray());
        Assert.Equal(-88.81350545324585, Sum(lm), 1e-6);
        Assert.Equal(61.985683262348175, Sum(f.Get("model.text_model.norm.weight")), 1e-9);
    }

    [Fact]
    public void ReadsCaseFilesOfEveryFixtureDtype()
    {
        using (var f = SafetensorsFile.Open(Fixtures.Path("idefics2-tiny", "cases", "batch2_leftpad", "inputs.safetensors")))
        {
            Assert.Equal(5, f.Names.Count);
            Assert.Equal(50298L, f.Get("input_ids").ToInt64Array().Sum());
            Assert.Equal([1L, 370L, 412L], f.Get("input_ids").ToInt64Array()[..3]);
            Assert.Equal(DType.F64, f.Get("pixel_attention_mask").DType);
            Assert.Equal(22344.0, f.Get("pixel_attention_mask").AsSpan<double>().ToArray().Sum());
            var pv = f.Get("pixel_values");
            Assert.Equal([2L, 2L, 3L, 98L, 98L], pv.Shape);
            Assert.Equal(-9073.222437143326, Sum(pv), 1e-6);
        }
        using (var f = SafetensorsFile.Open(Fixtures.Path("idefics2-tiny", "cases", "batch2_leftpad", "forward.safetensors")))
        {
            var m = f.Get("vision.patch_attention_mask");
            Assert.Equal(DType.Bool, m.DType);
            Assert.Equal([3L, 7L, 7L], m.Shape);
            Assert.Equal(105L, m.ToInt64Array().Sum());
        }
        using (var f = SafetensorsFile.Open(Fixtures.Path("idefics2-image-processor", "chelsea_nosplit.safetensors")))
        {
            var u8 = f.Get("resized_uint8_hwc.0");
            Assert.Equal(DType.U8, u8.DType);
            Assert.Equal([378L, 451L, 3L], u8.Shape);
            Assert.Equal(58973237L, u8.ToInt64Array().Sum());
            Assert.Equal([143, 120, 104], u8.AsSpan<byte>()[..3].ToArray());
        }
    }
}
