using SeeSharp.Generation;
using SeeSharp.Nn;
using SeeSharp.Models.Shared;

namespace SeeSharp.Models.Idefics3;

/// <summary>
/// <see cref="VisionModel"/> over <see cref="Idefics3ForConditionalGeneration"/> (Idefics3, SmolVLM): encodes each image
/// tile once per generation (or reuses a conversation's), merges them at the <c>&lt;image&gt;</c> positions, prefills
/// the KV cache, then decodes one token per row per step (the shared <see cref="ImageTextSessions"/>, as Idefics2).
/// </summary>
public sealed class Idefics3VisionModel : VisionModel
{
    private readonly ImageTextSessions _sessions;

    /// <summary>Loads a checkpoint folder.</summary>
    public Idefics3VisionModel(string folder, LoadOptions options) : base(folder)
    {
        ArgumentNullException.ThrowIfNull(options);
        Model = Idefics3ForConditionalGeneration.Load(folder, QuantizationPolicy.Resolve(folder, options.Quantization));
        _sessions = new ImageTextSessions(Model, MaxPositions);
    }

    /// <summary>The network itself (its <see cref="Idefics3ForConditionalGeneration.Tap"/> shows intermediates).</summary>
    public Idefics3ForConditionalGeneration Model { get; }

    /// <inheritdoc />
    public override string ModelType => Model.Config.ModelType;

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
