//! `int8xc inspect`: print a model's IR.

use clap::Args;
use int8xc::Compiler;

use super::ModelArgs;

/// Arguments of `int8xc inspect`.
#[derive(Args, Debug)]
pub struct InspectArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// Print the IR after the optimization passes instead of right after import.
    #[arg(long)]
    optimized: bool,
    /// Print every constant in full (the text then parses back); by default constants with
    /// more than 16 elements are summarized.
    #[arg(long)]
    full: bool,
}

/// Prints the IR.
pub fn inspect(args: InspectArgs) -> anyhow::Result<()> {
    let (model, _) = args.model.load()?;
    let mut compiler = Compiler::new().optimize(args.optimized);
    for (name, shape) in args.model.shapes()? {
        compiler = compiler.input_shape(&name, shape);
    }
    let graph = compiler.optimized_graph(&model)?;
    let options = int8xc_ir::PrintOptions { max_const_elements: if args.full { None } else { Some(16) } };
    print!("{}", int8xc_ir::print_graph(&graph, &options));
    Ok(())
}
