using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using LLama;
using LLama.Common;
using LLama.Native;

// The llama.cpp peer (LLamaSharp 0.30.0 + its CPU backend), for side-by-side numbers with SeeSharp.
//   quantize --in F16.gguf --out Q.gguf --type q8_0|q4_0 [--threads N]    (llama.cpp's own quantizer)
//   bench    --model X.gguf [--threads 2] [--prefill 512] [--decode 128] [--json]
//            prefill: one batched decode of N token ids; decode: greedy, one token per step, batched API.
//   logits   --model X.gguf --ids 1,2,3 [--threads 1]   prints every position's logits as JSON ([positions][vocab])
var opts = new Dictionary<string, string?>(StringComparer.Ordinal);
if (args.Length == 0) return Fail("usage: quantize | bench | logits [options]");
for (int i = 1; i < args.Length; i++)
{
    if (!args[i].StartsWith("--", StringComparison.Ordinal)) return Fail($"unexpected argument {args[i]}");
    string key = args[i][2..];
    opts[key] = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal) ? args[++i] : null;
}
string Req(string k) => opts.TryGetValue(k, out var v) && v is not null ? v : throw new ArgumentException($"--{k} is required");
int IntOpt(string k, int d) => opts.TryGetValue(k, out var v) && v is not null ? int.Parse(v, CultureInfo.InvariantCulture) : d;

bool quiet = !opts.ContainsKey("verbose");
if (quiet) NativeLibraryConfig.All.WithLogCallback((level, message) => { if (level >= LLamaLogLevel.Error) Console.Error.Write(message); });

try
{
    switch (args[0])
    {
        case "quantize":
        {
            NativeApi.llama_empty_call();              // PERF.md: loads the native library before the quantizer runs
            string type = Req("type");
            var ftype = type switch { "q8_0" => LLamaFtype.MOSTLY_Q8_0, "q4_0" => LLamaFtype.MOSTLY_Q4_0, _ => throw new ArgumentException($"--type {type}: q8_0 or q4_0") };
            var sw = Stopwatch.StartNew();
            bool ok = LLamaQuantizer.Quantize(Req("in"), Req("out"), ftype, IntOpt("threads", Environment.ProcessorCount), allowRequantize: true, quantizeOutputTensor: true);
            if (!ok) return Fail("llama.cpp's quantizer failed");
            Console.WriteLine($"quantized to {type} in {sw.Elapsed.TotalSeconds:F1} s: {Req("out")} ({new FileInfo(Req("out")).Length / 1e9:F3} GB)");
            return 0;
        }
        case "bench":
            return Bench(Req("model"), IntOpt("threads", 2), IntOpt("prefill", 512), IntOpt("decode", 128), opts.ContainsKey("json"));
        case "logits":
            return Logits(Req("model"), Req("ids"), IntOpt("threads", 1));
        default:
            return Fail($"unknown command {args[0]}");
    }
}
catch (Exception e) when (e is ArgumentException or FormatException or IOException or LLama.Exceptions.RuntimeError)
{
    return Fail(e.Message);
}

static int Fail(string message)
{
    Console.Error.WriteLine($"error: {message}");
    return 2;
}

static int Bench(string model, int threads, int prefill, int decode, bool json)
{
    var p = new ModelParams(model)
    {
        ContextSize = (uint)(prefill + decode + 16), BatchSize = (uint)Math.Max(prefill, 1), UBatchSize = (uint)Math.Max(prefill, 1),
        Threads = threads, BatchThreads = threads, GpuLayerCount = 0,
    };
    var load = Stopwatch.StartNew();
    using var weights = LLamaWeights.LoadFromFile(p);
    using var ctx = weights.CreateContext(p);
    double loadS = load.Elapsed.TotalSeconds;
    int vocab = weights.Vocab.Count;
    var rng = new Random(7);
    var batch = new LLamaBatch();
    // prefill: <s> + random ids (fixed seed), logits for the last position only
    batch.Add(1, 0, LLamaSeqId.Zero, prefill == 1);
    for (int i = 1; i < prefill; i++) batch.Add(rng.Next(3, Math.Min(vocab, 32000)), i, LLamaSeqId.Zero, i == prefill - 1);
    var sw = Stopwatch.StartNew();
    Check(ctx.Decode(batch), "prefill");
    double prefillS = sw.Elapsed.TotalSeconds;
    int next = Argmax(ctx.NativeHandle.GetLogitsIth(batch.TokenCount - 1));
    sw.Restart();
    var steps = new double[decode];
    for (int t = 0; t < decode; t++)
    {
        long t0 = Stopwatch.GetTimestamp();
        batch.Clear();
        batch.Add(next, prefill + t, LLamaSeqId.Zero, true);
        Check(ctx.Decode(batch), "decode");
        next = Argmax(ctx.NativeHandle.GetLogitsIth(0));
        steps[t] = Stopwatch.GetElapsedTime(t0).TotalSeconds;
    }
    double decodeS = sw.Elapsed.TotalSeconds;
    Array.Sort(steps);
    // on a shared host the mean mixes in other jobs' time slices: the median and best step are printed too
    double medianStep = decode > 0 ? steps[decode / 2] : double.NaN, bestStep = decode > 0 ? steps[0] : double.NaN;
    long rss = PeakRssBytes();
    var result = new
    {
        model = Path.GetFileName(model),
        file_gb = new FileInfo(model).Length / 1e9,
        threads,
        load_s = loadS,
        prefill_tokens = prefill,
        prefill_tok_s = prefill / prefillS,
        decode_tokens = decode,
        decode_tok_s = decode / decodeS,
        decode_tok_s_median = 1 / medianStep,
        decode_tok_s_best = 1 / bestStep,
        decode_gb_s = new FileInfo(model).Length / 1e9 * decode / decodeS,
        peak_rss_gb = rss / 1e9,
    };
    if (json) Console.WriteLine(JsonSerializer.Serialize(result));
    else
        Console.WriteLine($"{result.model}: {result.file_gb:F2} GB, {threads} threads: prefill {result.prefill_tok_s:F1} tok/s ({prefill}), " +
                          $"decode {result.decode_tok_s:F2} tok/s ({decode}; median step {result.decode_tok_s_median:F2}, best {result.decode_tok_s_best:F2}; ~{result.decode_gb_s:F1} GB/s of the file), peak RSS {result.peak_rss_gb:F2} GB, load {loadS:F1} s");
    return 0;
}

static int Logits(string model, string idList, int threads)
{
    var ids = idList.Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
    // F32 K/V cache (llama.cpp's default is F16) so that the comparison with fp32 transformers is about the network
    var p = new ModelParams(model)
    {
        ContextSize = (uint)Math.Max(64, ids.Length + 8), BatchSize = 512, UBatchSize = 512, Threads = threads, BatchThreads = threads,
        GpuLayerCount = 0, TypeK = GGMLType.GGML_TYPE_F32, TypeV = GGMLType.GGML_TYPE_F32, FlashAttention = false,
    };
    using var weights = LLamaWeights.LoadFromFile(p);
    using var ctx = weights.CreateContext(p);
    var batch = new LLamaBatch();
    for (int i = 0; i < ids.Length; i++) batch.Add(ids[i], i, LLamaSeqId.Zero, true);
    Check(ctx.Decode(batch), "logits");
    var rows = new List<float[]>();
    for (int i = 0; i < ids.Length; i++) rows.Add(ctx.NativeHandle.GetLogitsIth(i).ToArray());
    Console.WriteLine(JsonSerializer.Serialize(rows));
    return 0;
}

static void Check(DecodeResult r, string what)
{
    if (r != DecodeResult.Ok) throw new IOException($"llama_decode ({what}) returned {r}");
}

static int Argmax(Span<float> logits)
{
    int best = 0;
    for (int i = 1; i < logits.Length; i++) if (logits[i] > logits[best]) best = i;
    return best;
}

static long PeakRssBytes()
{
    foreach (var line in File.ReadLines("/proc/self/status"))
        if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            // "VmHWM:\t  123456 kB", but "VmHWM:\t12345678 kB" once the number is 8 digits wide (no space after the tab)
            return long.Parse(line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    return -1;
}
