namespace SeeSharp;

/// <summary>
/// A multi-turn conversation whose turns hold text and images, in the order the chat template expects them
/// (transformers' <c>messages</c> list with <c>{"type": "image"}</c> / <c>{"type": "text"}</c> content parts).
/// </summary>
public sealed class Chat
{
    private readonly List<ChatTurn> _turns = [];

    /// <summary>The turns so far.</summary>
    public IReadOnlyList<ChatTurn> Turns => _turns;

    /// <summary>Adds a user turn made of images and strings, in the given order.</summary>
    public Chat User(params object[] parts) => Add("user", parts);

    /// <summary>Adds an assistant turn.</summary>
    public Chat Assistant(params object[] parts) => Add("assistant", parts);

    /// <summary>Adds a system turn.</summary>
    public Chat System(params object[] parts) => Add("system", parts);

    /// <summary>Adds a turn with any role; each part is a <see cref="string"/>, an <see cref="Image"/> or a <see cref="ChatPart"/>.</summary>
    public Chat Add(string role, params object[] parts)
    {
        ArgumentException.ThrowIfNullOrEmpty(role);
        var list = new List<ChatPart>(parts.Length);
        foreach (var p in parts)
        {
            list.Add(p switch
            {
                string s => ChatPart.FromText(s),
                Image i => ChatPart.FromImage(i),
                ChatPart c => c,
                null => throw new ArgumentNullException(nameof(parts), "a chat part is null"),
                _ => throw new ArgumentException($"a chat part must be a string or an Image, not {p.GetType().Name}", nameof(parts)),
            });
        }
        _turns.Add(new ChatTurn(role, list));
        return this;
    }

    /// <summary>All images of the conversation, in order of appearance.</summary>
    public IEnumerable<ChatPart> ImageParts => _turns.SelectMany(t => t.Parts).Where(p => p.IsImage);

    /// <summary>The conversation as chat-template values: a list of {role, content: [{type, text?}]} dictionaries.</summary>
    public List<object?> ToTemplateMessages()
    {
        var messages = new List<object?>(_turns.Count);
        foreach (var turn in _turns)
        {
            var content = new List<object?>(turn.Parts.Count);
            foreach (var part in turn.Parts)
            {
                content.Add(part.IsImage
                    ? new Dictionary<string, object?> { ["type"] = "image" }
                    : new Dictionary<string, object?> { ["type"] = "text", ["text"] = part.Text });
            }
            messages.Add(new Dictionary<string, object?> { ["role"] = turn.Role, ["content"] = content });
        }
        return messages;
    }
}

/// <summary>One turn of a <see cref="Chat"/>.</summary>
public sealed record ChatTurn(string Role, IReadOnlyList<ChatPart> Parts);

/// <summary>A text or an image inside a turn.</summary>
public sealed record ChatPart
{
    /// <summary>The text, for a text part.</summary>
    public string? Text { get; private init; }
    /// <summary>The image, for an image part (null for a placeholder that only renders the template).</summary>
    public Image? Image { get; private init; }
    /// <summary>Whether this part stands for an image.</summary>
    public bool IsImage { get; private init; }

    /// <summary>A text part.</summary>
    public static ChatPart FromText(string text) => new() { Text = text ?? throw new ArgumentNullException(nameof(text)) };
    /// <summary>An image part.</summary>
    public static ChatPart FromImage(Image image) => new() { Image = image ?? throw new ArgumentNullException(nameof(image)), IsImage = true };
    /// <summary>An image slot without pixels: enough to render a chat template, refused by processing.</summary>
    public static ChatPart ImagePlaceholder() => new() { IsImage = true };
}
