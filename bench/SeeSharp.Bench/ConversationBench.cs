using System.Diagnostics;
using SeeSharp.Generation;

using static SeeSharp.Bench.BenchUtil;

namespace SeeSharp.Bench;

/// <summary>
/// <c>conversation --model DIR [--image A] [--image B] [--max-new-tokens N]</c>: the saving of conversation reuse.
/// Turn 1 asks about image A; turn 2 adds the answer and a question about image B. Turn 2 is run three ways, side by
/// side: a fresh generation of the whole conversation, and the same through a <see cref="Conversation"/> that holds
/// turn 1 (KV cache + image features). Prints prefill tokens, image-encode and prefill seconds, and the ratio.
/// </summary>
internal static class ConversationBench
{
    public static int Run(string[] args)
    {
        string model = Arg(args, "--model") ?? Path.Combine(RepoRoot(), "tests", "fixtures", "idefics2-tiny", "model");
        var images = Args(args, "--image");
        if (images.Count == 0) images = [Path.Combine(RepoRoot(), "tests", "fixtures", "images", "chelsea.png"), Path.Combine(RepoRoot(), "tests", "fixtures", "images", "coffee.png")];
        if (images.Count != 2) { Console.Error.WriteLine("conversation: give two --image paths (or none for the fixture photos)"); return 2; }
        int maxNew = int.Parse(Arg(args, "--max-new-tokens") ?? "16");
        int trials = int.Parse(Arg(args, "--trials") ?? "3");

        var load = Stopwatch.StartNew();
        using var vm = VisionModel.FromPretrainedAsync(model).GetAwaiter().GetResult();
        var processor = Processor.FromPretrainedAsync(model).GetAwaiter().GetResult();
        Console.WriteLine($"model {model} ({vm.ModelType}) loaded in {load.Elapsed.TotalSeconds:F2} s; {trials} trials, {maxNew} new tokens per turn");
        var options = new GenerationOptions { MaxNewTokens = maxNew };

        var fresh = new List<GenerationTimings>();
        var reused = new List<GenerationTimings>();
        int promptTokens = 0;
        bool same = true;
        for (int t = 0; t < trials; t++)
        {
            var chat = new Chat().User(Image.Load(images[0]), "What do we see in this image?");
            using var conversation = vm.StartConversation();
            var first = conversation.GenerateAsync(processor.Apply(chat), options).GetAwaiter().GetResult();
            chat.Assistant(first.Text.Trim()).User(Image.Load(images[1]), "And how about this image?");
            var inputs = processor.Apply(chat);
            promptTokens = inputs.SequenceLength;
            // Interleaved: fresh, then reuse, each trial.
            var f = vm.GenerateAsync(inputs, options).GetAwaiter().GetResult();
            var r = conversation.GenerateAsync(inputs, options).GetAwaiter().GetResult();
            same &= f.Tokens.SequenceEqual(r.Tokens);
            fresh.Add(f.Timings);
            reused.Add(r.Timings);
        }
        static double Med(IEnumerable<double> xs) { var a = xs.OrderBy(x => x).ToArray(); return a[a.Length / 2]; }
        double fEnc = Med(fresh.Select(x => x.ImageEncodeSeconds)), rEnc = Med(reused.Select(x => x.ImageEncodeSeconds));
        double fPre = Med(fresh.Select(x => x.PrefillSeconds)), rPre = Med(reused.Select(x => x.PrefillSeconds));
        Console.WriteLine($"turn 2 prompt: {promptTokens} tokens; same tokens with and without reuse: {same}");
        Console.WriteLine($"{"",-14}{"prefill tok",12}{"encode s",10}{"prefill s",11}{"encode+prefill s",18}");
        Console.WriteLine($"{"fresh",-14}{fresh[0].PrefillTokens,12}{fEnc,10:F4}{fPre,11:F4}{fEnc + fPre,18:F4}");
        Console.WriteLine($"{"reused",-14}{reused[0].PrefillTokens,12}{rEnc,10:F4}{rPre,11:F4}{rEnc + rPre,18:F4}");
        Console.WriteLine($"reuse/fresh: prefill tokens {reused[0].PrefillTokens / (double)fresh[0].PrefillTokens:F3}, encode+prefill time {(rEnc + rPre) / Math.Max(1e-9, fEnc + fPre):F3}");
        return same ? 0 : 1;
    }


}
