// The ceiling: a function that does nothing but answer.
Deno.serve(() => new Response("hello"));
