using System.Runtime.CompilerServices;
using SeeSharp.Generation;
using SeeSharp.Imaging;

namespace SeeSharp.Server;

/// <summary>
/// The real backend: a <see cref="VisionModel"/> and its <see cref="Processor"/>. OpenAI messages become a
/// <see cref="Chat"/> (image parts → <see cref="Image.FromBytes"/>), the processor makes the inputs, and the model
/// streams the answer.
/// </summary>
/// <remarks>
/// Sampling follows the CLI: <c>temperature</c> absent keeps the checkpoint's <c>generation_config.json</c> (greedy
/// for Idefics2, and <c>top_p</c>/<c>top_k</c> then only apply if that config samples), 0 is greedy, above 0 samples
/// with that temperature. <c>max_tokens</c> absent is the server's default budget cut to what the context leaves.
/// </remarks>
public sealed class VisionModelChatBackend(VisionModel model, Processor processor, string modelId) : IChatBackend
{
    /// <inheritdoc />
    public string ModelId { get; } = modelId;

    /// <inheritdoc />
    public int ContextLength => model.MaxPositions;

    /// <summary>The SeeSharp chat an OpenAI request stands for.</summary>
    public static Chat ToChat(ChatRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var chat = new Chat();
        int image = 0;
        foreach (var message in request.Messages)
        {
            var parts = message.Parts.Select(p => p.Image is { } bytes ? (object)Image.FromBytes(bytes, $"image {image++}") : p.Text!).ToArray();
            chat.Add(message.Role, parts);
        }
        return chat;
    }

    /// <summary>The generation options of a request, given the room the context has left after the prompt.</summary>
    public static GenerationOptions ToOptions(ChatRequest request, int promptTokens, int contextLength)
    {
        int room = contextLength - promptTokens;
        if (room < 1)
            throw new ApiException(400, $"the prompt has {promptTokens} tokens, which leaves no room in the model's context of {contextLength} tokens",
                "messages", "context_length_exceeded");
        int max = request.MaxTokens ?? Math.Min(request.DefaultMaxTokens, room);
        if (max > room)
            throw new ApiException(400, $"the prompt ({promptTokens} tokens) + max_tokens ({max}) is more than the model's context of {contextLength} tokens",
                "max_tokens", "context_length_exceeded");
        float? t = request.Temperature;
        return new GenerationOptions
        {
            MaxNewTokens = max,
            DoSample = t switch { null => null, 0f => false, _ => true },
            Temperature = t > 0f ? t : null,
            TopP = request.TopP,
            TopK = request.TopK,
            Seed = request.Seed is long s ? unchecked((ulong)s) : null,
        };
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ChatStreamUpdate> GenerateAsync(ChatRequest request, [EnumeratorCancellation] CancellationToken ct)
    {
        var (inputs, options) = await Task.Run(() => Prepare(request), ct).ConfigureAwait(false);
        int prompt = inputs.RowLength(0);
        await foreach (var chunk in model.GenerateStreamingAsync(inputs, options, ct).ConfigureAwait(false))
        {
            if (chunk.Result is { } result)
            {
                yield return new ChatStreamUpdate("", 0, result.FinishReason == FinishReason.Length ? "length" : "stop", prompt);
                yield break;
            }
            yield return new ChatStreamUpdate(chunk.Text, chunk.TokenId >= 0 ? 1 : 0, null, prompt);
        }
    }

    private (ModelInputs, GenerationOptions) Prepare(ChatRequest request)
    {
        ModelInputs inputs;
        try
        {
            inputs = processor.Apply(ToChat(request), addGenerationPrompt: true);
        }
        catch (ImageDecodeException e)
        {
            throw new ApiException(400, e.Message, "messages", "invalid_image");
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException && e is not ApiException)
        {
            throw new ApiException(400, e.Message, "messages", "invalid_value");
        }
        return (inputs, ToOptions(request, inputs.RowLength(0), ContextLength));
    }
}
