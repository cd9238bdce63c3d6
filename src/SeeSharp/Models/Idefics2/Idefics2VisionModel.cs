using SeeSharp.Generation;
using SeeSharp.Nn;
using SeeSharp.Models.Shared;

namespace SeeSharp.Models.Idefics2;

/// <summary>
/// <see cref="VisionModel"/> over <see cref="Idefics2ForConditionalGeneration"/>: encodes the images once per
/// generation (or reuses a conversation's), merges them at the <c>&lt;image&gt;</c> positions, prefills the KV cache,
/// then decodes one token per row per step with the position ids <c>generate</c> uses for left padding (the shared
/// <see cref="ImageTextSessions"/>).
/// </summary>
public sealed class Idefics2VisionModel : VisionModel
{
    /// <summary>Loads a checkpoint folder.</summary>
    public Idefics2VisionModel(string folder, LoadOptions options) : base(folder)
    {
        Model = Idefics2ForConditionalGeneration.Load(folder, QuantizationPolicy.Resolve(folder, options.Quantization));
        _sessions = new ImageTextSessions(Model, MaxPositions);
    }

    private readonly ImageTextSessions _sessions;

    /// <summary>The network itself (its <see cref="Idefics2ForConditionalGeneration.Tap"/> shows intermediates).</summary>
    public Idefics2ForConditionalGeneration Model { get; }

    /// <inheritdoc />
    public override string ModelType => "idefics2";

    /// <inheritdoc />
    public override int MaxPositions => Model.Config.TextConfig.MaxPositionEmbeddings;

    private protected override IDecoderSession CreateSession(ModelInputs inputs, GenerationSettings settings, Conversation? conversation,
        out double imageEncodeSeconds, out int prefillTokens) =>
        _sessions.CreateSession(inputs, settings, conversation, out imageEncodeSeconds, out prefillTokens);

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing) Model.Dispose();
    }
}
