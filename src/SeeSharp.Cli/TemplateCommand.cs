using System.CommandLine;

namespace SeeSharp.Cli;

/// <summary>
/// <c>seesharp template --model &lt;dir&gt; --messages chat.json [--add-generation-prompt]</c>: the rendered prompt,
/// exactly (no newline added). Template and special tokens are found in the folder as transformers finds them.
/// </summary>
internal static class TemplateCommand
{
    public static Command Create(CliIo io)
    {
        var model = new Option<string>("--model") { Description = "A checkpoint folder (or Hub id).", Required = true };
        var messages = new Option<string>("--messages") { Description = "The chat as JSON (image parts need no path).", Required = true };
        var addGen = new Option<bool>("--add-generation-prompt") { Description = "End with the assistant's turn header." };
        var cmd = new Command("template", "Render a chat with the model's chat template.") { model, messages, addGen };
        cmd.SetAction(async (pr, ct) =>
        {
            var chat = Messages.Load(pr.GetValue(messages)!, imagesRequired: false);
            var processor = await Processor.FromPretrainedAsync(pr.GetValue(model)!, null, ct);
            io.Out.Write(processor.ApplyChatTemplate(chat, pr.GetValue(addGen)));
            io.Out.Flush();
            return 0;
        });
        return cmd;
    }
}
