using SeeSharp.Hub;
using SeeSharp.Templates;
using SeeSharp.Tokenizers;

namespace SeeSharp;

/// <summary>
/// A model's processor (transformers' <c>AutoProcessor</c> role): chat template, image preprocessing, prompt
/// expansion and tokenization, picked from the checkpoint's <c>config.json</c>.
/// </summary>
public abstract class Processor
{
    private readonly ChatTemplate? _template;

    /// <summary>For architectures: loads the tokenizer and the chat template of <paramref name="folder"/>.</summary>
    protected Processor(string folder)
    {
        Folder = folder;
        Tokenizer = Tokenizer.FromFolder(folder);
        var source = ChatTemplateLocator.Find(folder);
        _template = source is null ? null : ChatTemplate.Parse(source);
    }

    /// <summary>The checkpoint folder.</summary>
    public string Folder { get; }

    /// <summary>The tokenizer (<c>tokenizer.json</c> + <c>tokenizer_config.json</c>).</summary>
    public Tokenizer Tokenizer { get; }

    /// <summary>
    /// Loads the processor of a local folder or Hub id (<c>org/name[@revision]</c>, resolved into the same cached
    /// snapshot as the model).
    /// </summary>
    public static async Task<Processor> FromPretrainedAsync(string idOrFolder, HubOptions? hub = null, CancellationToken ct = default)
    {
        var folder = await VisionModel.ResolveAsync(idOrFolder, hub, progress: null, ct).ConfigureAwait(false);
        return Architectures.Find(folder).LoadProcessor(folder);
    }

    /// <summary>
    /// Renders the chat with the model's chat template as transformers' <c>apply_chat_template</c> does (the special
    /// tokens of the tokenizer are template variables).
    /// </summary>
    public string ApplyChatTemplate(Chat chat, bool addGenerationPrompt = true)
    {
        ArgumentNullException.ThrowIfNull(chat);
        if (_template is null)
            throw new InvalidOperationException($"{Folder}: no chat template (looked for chat_template.jinja, chat_template.json, processor_config.json and tokenizer_config.json)");
        var extra = new Dictionary<string, object?>();
        foreach (var (key, value) in Tokenizer.SpecialTokensMap) extra[key] = value;
        extra["additional_special_tokens"] = Tokenizer.AdditionalSpecialTokens.Cast<object?>().ToList();
        return _template.Apply(chat.ToTemplateMessages(), addGenerationPrompt, extra);
    }

    /// <summary>Applies the chat template, expands the image tokens, tokenizes and preprocesses the images of one chat.</summary>
    public ModelInputs Apply(Chat chat, bool addGenerationPrompt = true) => Apply([chat], addGenerationPrompt);

    /// <summary>Several chats as one left-padded batch.</summary>
    public ModelInputs Apply(IReadOnlyList<Chat> chats, bool addGenerationPrompt = true)
    {
        ArgumentNullException.ThrowIfNull(chats);
        if (chats.Count == 0) throw new ArgumentException("no chat to process", nameof(chats));
        var prompts = chats.Select(c => ApplyChatTemplate(c, addGenerationPrompt)).ToList();
        var images = chats.Select(c => c.ImageParts.Select((p, i) => p.Image
            ?? throw new ArgumentException($"image {i} of a chat has no pixels (a placeholder can only render the template)")).ToList()).ToList();
        return Process(prompts, images);
    }

    /// <summary>
    /// The processor's <c>__call__</c>: expands each prompt's image placeholders, tokenizes with special tokens,
    /// pads on the left, and preprocesses the images of each row (their count must match the placeholders).
    /// </summary>
    public abstract ModelInputs Process(IReadOnlyList<string> prompts, IReadOnlyList<IReadOnlyList<Image>> images);

    /// <summary>Turns ids into text (<c>skip_special_tokens</c> drops the special tokens).</summary>
    public string Decode(IReadOnlyList<int> ids, bool skipSpecialTokens = true) => Tokenizer.Decode(ids, skipSpecialTokens);

    /// <summary>Decodes several rows.</summary>
    public IReadOnlyList<string> BatchDecode(IEnumerable<IReadOnlyList<int>> rows, bool skipSpecialTokens = true)
        => rows.Select(r => Decode(r, skipSpecialTokens)).ToList();
}
