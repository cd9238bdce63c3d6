using System.Text.Json.Nodes;
using SeeSharp.Engine;
using SeeSharp.Engine.Safetensors;

namespace SeeSharp.Tools;

/// <summary>
/// <c>gguf</c>: exports the Mistral decoder of an Idefics2 checkpoint (model.text_model.* + lm_head) as a
/// llama-architecture GGUF that llama.cpp loads: llama.* hyper-parameters, a minimal SentencePiece-style vocabulary
/// from tokenizer.json, tensors renamed as llama.cpp's convert_hf_to_gguf.py does, and q_proj / k_proj rows permuted
/// from HF's rotate_half order to llama.cpp's interleaved-pair RoPE order. 2-D weights at F16, BF16 or F32; 1-D norms F32.
/// </summary>
internal static class GgufExport
{
    public static int Run(Args a)
    {
        string model = a.Get("model");
        string output = a.Get("out");
        string typeName = a.Opt("type", "f16");
        a.CheckAllUsed();
        var type = typeName switch { "f16" => GgmlType.F16, "bf16" => GgmlType.BF16, "f32" => GgmlType.F32, _ => throw new ArgumentException($"--type {typeName}: f16, bf16 or f32") };
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(model, "config.json")))?.AsObject()
            ?? throw new FormatException($"{model}/config.json: not a JSON object");
        var dims = Idefics2Dims.FromConfig(config);
        using var ckpt = SafetensorsCheckpoint.Open(model);
        var g = new GgufWriter();
        g.Add("general.architecture", "llama");
        g.Add("general.name", Path.GetFileName(Path.GetFullPath(model).TrimEnd('/')) + "-text");
        g.Add("general.alignment", (uint)GgufWriter.Alignment);
        g.Add("general.file_type", type switch { GgmlType.F32 => 0u, GgmlType.F16 => 1u, _ => 32u });
        g.Add("llama.context_length", (uint)dims.MaxPositions);
        g.Add("llama.embedding_length", (uint)dims.Hidden);
        g.Add("llama.block_count", (uint)dims.Layers);
        g.Add("llama.feed_forward_length", (uint)dims.Intermediate);
        g.Add("llama.rope.dimension_count", (uint)dims.HeadDim);
        g.Add("llama.attention.head_count", (uint)dims.Heads);
        g.Add("llama.attention.head_count_kv", (uint)dims.KvHeads);
        g.Add("llama.attention.layer_norm_rms_epsilon", (float)dims.RmsEps);
        g.Add("llama.rope.freq_base", (float)dims.RopeTheta);
        g.Add("llama.vocab_size", (uint)dims.Vocab);
        AddVocab(g, model, dims.Vocab);

        int n = 0;
        foreach (var (name, shape, _) in dims.TextTensors())
        {
            var t = ckpt.Get(name);
            if (!t.Shape.SequenceEqual(shape))
                throw new FormatException($"{model}: {name} has shape [{string.Join(", ", t.Shape)}], config says [{string.Join(", ", shape)}]");
            string gname = GgufName(name);
            int permuteHeads = name.EndsWith("self_attn.q_proj.weight", StringComparison.Ordinal) ? dims.Heads
                : name.EndsWith("self_attn.k_proj.weight", StringComparison.Ordinal) ? dims.KvHeads : 0;
            var tt = shape.Length == 1 ? GgmlType.F32 : type;
            g.AddTensor(gname, shape, tt, s => WriteTensor(s, t, tt, permuteHeads));
            n++;
        }
        if (dims.TiedEmbeddings) Console.WriteLine("note: tied embeddings, no output.weight written (llama.cpp then reuses token_embd)");
        g.Write(output);
        Console.WriteLine($"wrote {output}: {n} tensors, {new FileInfo(output).Length / 1e9:F3} GB");
        return 0;
    }

    internal static string GgufName(string hf)
    {
        if (hf == "model.text_model.embed_tokens.weight") return "token_embd.weight";
        if (hf == "model.text_model.norm.weight") return "output_norm.weight";
        if (hf == "lm_head.weight") return "output.weight";
        const string pre = "model.text_model.layers.";
        if (!hf.StartsWith(pre, StringComparison.Ordinal)) throw new FormatException($"gguf: no llama name for {hf}");
        string rest = hf[pre.Length..];
        int dot = rest.IndexOf('.');
        string layer = rest[..dot], part = rest[(dot + 1)..];
        string g = part switch
        {
            "input_layernorm.weight" => "attn_norm",
            "post_attention_layernorm.weight" => "ffn_norm",
            "self_attn.q_proj.weight" => "attn_q",
            "self_attn.k_proj.weight" => "attn_k",
            "self_attn.v_proj.weight" => "attn_v",
            "self_attn.o_proj.weight" => "attn_output",
            "mlp.gate_proj.weight" => "ffn_gate",
            "mlp.up_proj.weight" => "ffn_up",
            "mlp.down_proj.weight" => "ffn_down",
            _ => throw new FormatException($"gguf: no llama name for {hf}"),
        };
        return $"blk.{layer}.{g}.weight";
    }

    /// <summary>
    /// The source row of output row <paramref name="row"/> after llama.cpp's permute(w, heads): HF keeps the two
    /// rotary halves of a head apart ([h][2][hd/2]); llama.cpp wants pairs ([h][hd/2][2]).
    /// </summary>
    internal static int PermutedSourceRow(int row, int rows, int heads)
    {
        if (heads == 0) return row;
        int hd = rows / heads, half = hd / 2;
        int h = row / hd, r = row % hd, i = r / 2, j = r % 2;
        return h * hd + j * half + i;
    }

    private static unsafe void WriteTensor(Stream s, Tensor t, GgmlType type, int permuteHeads)
    {
        int rows = (int)t.Shape[0];
        int cols = (int)(t.ElementCount / rows);
        int outSize = type == GgmlType.F32 ? 4 : 2;
        var buf = new byte[(long)cols * outSize];
        int srcSize = DTypes.SizeOf(t.DType);
        for (int r = 0; r < rows; r++)
        {
            int src = PermutedSourceRow(r, rows, permuteHeads);
            byte* p = t.Pointer + (long)src * cols * srcSize;
            if ((t.DType == DType.BF16 && type == GgmlType.BF16) || (t.DType == DType.F16 && type == GgmlType.F16) || (t.DType == DType.F32 && type == GgmlType.F32))
            {
                new ReadOnlySpan<byte>(p, buf.Length).CopyTo(buf);
            }
            else
            {
                for (int c = 0; c < cols; c++)
                {
                    float v = t.DType switch
                    {
                        DType.F32 => ((float*)p)[c],
                        DType.BF16 => DTypes.BF16ToSingle(((ushort*)p)[c]),
                        DType.F16 => DTypes.F16ToSingle(((ushort*)p)[c]),
                        _ => throw new FormatException($"gguf: tensor {t} has unsupported dtype {t.DType}"),
                    };
                    switch (type)
                    {
                        case GgmlType.F32: BitConverter.TryWriteBytes(buf.AsSpan(c * 4), v); break;
                        case GgmlType.F16: BitConverter.TryWriteBytes(buf.AsSpan(c * 2), DTypes.SingleToF16(v)); break;
                        default: BitConverter.TryWriteBytes(buf.AsSpan(c * 2), DTypes.SingleToBF16(v)); break;
                    }
                }
            }
            s.Write(buf);
        }
        GC.KeepAlive(t);
    }

    // tokenizer.ggml.*: model "llama", tokens in id order from tokenizer.json (vocab + added tokens), scores -id,
    // token types NORMAL 1 / UNKNOWN 2 / CONTROL 3 (<s>, </s>, special added tokens) / USER_DEFINED 4 / BYTE 6;
    // ids the vocab lacks become [PAD<id>] (user defined).
    private static void AddVocab(GgufWriter g, string model, int vocab)
    {
        string path = Path.Combine(model, "tokenizer.json");
        var tokens = new string?[vocab];
        var types = new int[vocab];
        var special = new HashSet<int>();
        if (File.Exists(path))
        {
            var tok = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
            if (tok["model"]?["vocab"] is JsonObject v)
                foreach (var (k, idNode) in v)
                {
                    int id = idNode!.GetValue<int>();
                    if (id >= 0 && id < vocab) tokens[id] = k;
                }
            if (tok["added_tokens"] is JsonArray added)
                foreach (var at in added)
                {
                    int id = at!["id"]!.GetValue<int>();
                    if (id < 0 || id >= vocab) continue;
                    tokens[id] = at["content"]!.GetValue<string>();
                    if ((bool?)at["special"] == true) special.Add(id);
                }
        }
        else Console.WriteLine($"note: {path} not found; writing placeholder tokens");
        var scores = new float[vocab];
        var names = new string[vocab];
        for (int i = 0; i < vocab; i++)
        {
            string t = tokens[i] ?? $"[PAD{i}]";
            names[i] = t;
            scores[i] = -i;
            types[i] = t == "<unk>" ? 2
                : t is "<s>" or "</s>" ? 3
                : t.Length == 6 && t.StartsWith("<0x", StringComparison.Ordinal) && t.EndsWith('>') ? 6
                : special.Contains(i) ? 3
                : tokens[i] is null ? 4
                : 1;
        }
        g.Add("tokenizer.ggml.model", "llama");
        g.AddArray("tokenizer.ggml.tokens", names);
        g.AddArray("tokenizer.ggml.scores", scores);
        g.AddArray("tokenizer.ggml.token_type", types);
        g.Add("tokenizer.ggml.bos_token_id", 1u);
        g.Add("tokenizer.ggml.eos_token_id", 2u);
        g.Add("tokenizer.ggml.unknown_token_id", 0u);
        g.Add("tokenizer.ggml.padding_token_id", 0u);
        g.Add("tokenizer.ggml.add_bos_token", true);
        g.Add("tokenizer.ggml.add_eos_token", false);
    }
}
